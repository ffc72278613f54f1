"""One request cannot cost more than its bounds: segment criteria count toward the request's limits
and are bounded in compiled size before any query over members; an expansion that cannot succeed
is given up with its error instead of being tried for ever; a segment that cannot be evaluated is
a clear error; a query the database refuses as too complex is a 400, not a retry.
"""

import json
import time
import tracemalloc
from unittest import mock

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from audiences.models import AudienceAttribute, Member, Segment, SegmentCondition
from messaging.api.errors import contract_exception_handler, translate_exception
from messaging.models import SmsMessage, SmsRequest
from messaging.services import expansion
from messaging.services.expansion import message_expand, message_expand_chunk
from messaging.services.sweep import STALLED_AFTER, STALLED_BATCH, queue_sweep
from messaging.tasks import expand_message
from tests.factories import MemberFactory, SmsMessageFactory
from tests.helpers import one_message, post_json

pytestmark = pytest.mark.django_db

SECONDS = 2.0
MEMORY_BOUND = 64 * 1024 * 1024
INVALID = "Invalid request format, Error messages :[{}]"
MEMBER_TABLE = Member._meta.db_table


def segment_of(name, conditions, definition=""):
    segment = Segment.objects.create(name=name, definition=definition, published=True)
    for number, (attribute, operator, value) in enumerate(conditions, start=1):
        SegmentCondition.objects.create(
            segment=segment, number=number, attribute=attribute, operator=operator, value=value
        )
    return segment


def hundred_conditions(definition_operators=("AND",)):
    """A segment of 100 conditions (the most a segment may have), its definition joining them
    with the given operators in turn."""
    conditions = [("state", "NotEqual", f"S{n}") for n in range(1, 101)]
    definition = "1"
    for n in range(2, 101):
        definition += f" {definition_operators[n % len(definition_operators)]} {n}"
    return segment_of("hundred", conditions, definition)


def segment_body(*criteria):
    return one_message(
        priorityService="false", content="Hi", recipients={"segment": [{"criteria": text} for text in criteria]}
    )


def refused_in_bounds(client, body):
    """Post a body; its refusal's text, after checking that it came in time, in bounded memory,
    storing nothing. A small request first loads what any first request loads."""
    post_json(client, segment_body("##0##"))
    started = time.monotonic()
    response = post_json(client, body)
    elapsed = time.monotonic() - started
    assert response.status_code == 400, response.content[:300]
    assert elapsed < SECONDS
    tracemalloc.start()
    try:
        post_json(client, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND
    assert not SmsRequest.objects.exists()
    return response.json()["message"]


# Request limits ---------------------------------------------------------------------------------


def test_a_430_kb_criteria_body_is_a_400_in_well_under_a_second(client):
    """9,000 terms (within the recipient limit) naming a segment of 100 conditions, padded to
    430 KB: 900,000 conditions to compile, which took the web process to 9 GB and ten minutes."""
    MemberFactory()
    big = hundred_conditions()
    term = f"##{big.id}##"
    padding = " " * (430_000 // 9000 - len(term) - len(" OR "))
    criteria = f" OR {padding}".join([term] * 200)
    body = json.dumps(segment_body(*[criteria] * 45))
    assert 420_000 < len(body) < 440_000
    message = refused_in_bounds(client, body)
    assert message.startswith(
        INVALID.format("segment criteria too complex: more than 2000 segment conditions @ message :1")[:-1]
    )


def test_430_kb_of_criteria_terms_is_a_400_by_their_count_before_any_is_parsed(client):
    MemberFactory()
    everyone = Segment.objects.get(name=Segment.ALL_USERS)
    criteria = " OR ".join([f"##{everyone.id}##"] * 200)
    body = json.dumps(segment_body(*[criteria] * (430_000 // len(criteria) + 1)))
    assert len(body) > 430_000
    message = refused_in_bounds(client, body)
    assert message == INVALID.format("more than 10000 recipients and segment terms")


def test_segment_entries_and_their_terms_count_toward_the_recipient_limit(client, settings):
    settings.SMS_MAX_RECIPIENTS = 3
    everyone = Segment.objects.get(name=Segment.ALL_USERS)
    MemberFactory()
    term = f"##{everyone.id}##"
    response = post_json(client, segment_body(term, term, term, term))
    assert response.status_code == 400
    assert response.json()["message"] == INVALID.format("more than 3 recipients and segment terms")
    response = post_json(client, segment_body(f"{term} OR {term}", f"{term} AND NOT {term}"))
    assert response.json()["message"] == INVALID.format("more than 3 recipients and segment terms")
    assert post_json(client, segment_body(term, f"{term} OR {term}")).status_code == 200


def test_a_criteria_past_the_conditions_bound_is_refused_before_any_query_over_members(client):
    MemberFactory()
    big = hundred_conditions()
    criteria = " OR ".join([f"##{big.id}##"] * 21)  # 2,100 conditions
    with CaptureQueriesContext(connection) as queries:
        response = post_json(client, segment_body(criteria))
    assert response.status_code == 400
    assert response.json()["message"] == INVALID.format(
        "segment criteria too complex: more than 2000 segment conditions @ message :1"
    )
    assert not [query for query in queries if MEMBER_TABLE in query["sql"]]


def test_the_conditions_bound_counts_every_criteria_of_the_request(client):
    MemberFactory()
    big = hundred_conditions()
    criteria = " OR ".join([f"##{big.id}##"] * 15)  # 1,500 conditions each
    body = {
        "smsServiceRequest": {
            "messages": {
                "message": [segment_body(criteria)["smsServiceRequest"]["messages"]["message"]] * 2,
            }
        }
    }
    response = post_json(client, body)
    assert response.status_code == 400
    assert "more than 2000 segment conditions @ message :2" in response.json()["message"]
    assert "@ message :1" not in response.json()["message"]
    assert post_json(client, segment_body(criteria)).status_code == 200


def test_a_criteria_nested_past_the_depth_bound_is_refused(client):
    """Every AND after an OR nests the query once more: 200 alternating terms, the first naming a
    segment whose own definition alternates 100 times, drove Django's compiler past Python's
    recursion limit (a 500)."""
    MemberFactory()
    deep = hundred_conditions(definition_operators=("AND", "OR"))
    one = segment_of("one", [("state", "Equal", "CA")])
    criteria = f"##{deep.id}##"
    for n in range(199):
        criteria += f" {'AND' if n % 2 else 'OR'} ##{one.id}##"
    response = post_json(client, segment_body(criteria))
    assert response.status_code == 400, response.content
    assert response.json()["message"] == INVALID.format(
        "segment criteria too complex: nested more than 250 levels @ message :1"
    )


def test_a_criteria_as_deep_as_the_query_allows_is_accepted(client):
    MemberFactory(state="CA")
    deep = hundred_conditions(definition_operators=("AND", "OR"))
    one = segment_of("one", [("state", "Equal", "CA")])
    criteria = f"##{one.id}##"
    for n in range(198):
        criteria += f" {'AND' if n % 2 else 'OR'} ##{one.id}##"
    response = post_json(client, segment_body(f"{criteria} OR ##{deep.id}##"))
    assert response.status_code == 200, response.content
    message = SmsMessage.objects.get(request_id=response.json()["id"])
    message_expand(message_id=message.id)
    message.refresh_from_db()
    assert (message.expansion_done, message.expansion_error, message.expanded_count) == (True, "", 1)


def test_a_criteria_naming_a_segment_that_cannot_be_evaluated_is_invalid(client):
    MemberFactory()
    broken = segment_of("broken", [("lastActiveDate", "GreaterThan", "9999-12-31")])  # stored before the check
    response = post_json(client, segment_body(f"##{broken.id}##"))
    assert response.status_code == 400
    assert response.json()["message"] == INVALID.format("invalid segment criteria @ message :1")


def test_a_date_condition_past_the_calendar_is_refused_when_the_segment_is_made(client, settings):
    from audiences.segments import SegmentError, segment_plan_build

    with pytest.raises(SegmentError, match="the date must lie between 0001-01-02 and 9999-12-30"):
        segment_plan_build(
            definition="1",
            conditions=[{"number": 1, "attribute": "lastActiveDate", "operator": "Equal", "value": "9999-12-31"}],
        )


# Expansion that cannot succeed -----------------------------------------------------------------


def segment_message(segment, **fields):
    return SmsMessageFactory(criteria=[f"##{segment.id}##"], expansion_done=False, **fields)


def number_segment_over_bad_data():
    """A number attribute one member holds as text: the database cannot cast it (a DataError)."""
    AudienceAttribute.objects.create(name="score", type="number")
    MemberFactory(attributes={"score": "many"})
    return segment_of("scorers", [("score", "GreaterThan", "5")])


def test_an_expansion_that_cannot_be_compiled_is_given_up_at_once_with_its_error():
    MemberFactory()
    broken = segment_of("broken", [("lastActiveDate", "GreaterThan", "9999-12-31")])
    message = segment_message(broken)
    assert message_expand_chunk(message_id=message.id) is True
    message.refresh_from_db()
    assert message.expansion_done
    assert message.expansion_attempts == 1
    assert "the date must lie between" in message.expansion_error
    assert message.expected_total == 0


def test_an_expansion_the_database_refuses_is_given_up_at_once_with_its_error():
    message = segment_message(number_segment_over_bad_data())
    assert message_expand_chunk(message_id=message.id) is True
    message.refresh_from_db()
    assert message.expansion_done
    assert message.expansion_error.startswith("the database cannot compare a member's value")
    assert "many" not in message.expansion_error


def test_an_expansion_failing_for_another_reason_is_given_up_after_the_bounded_tries(settings):
    settings.EXPANSION_MAX_ATTEMPTS = 3
    message = segment_message(Segment.objects.get(name=Segment.ALL_USERS))
    with mock.patch.object(expansion, "message_audience", side_effect=OperationalError("server closed")):
        for _ in range(3):
            with pytest.raises(OperationalError):
                message_expand_chunk(message_id=message.id)
        assert message_expand_chunk(message_id=message.id) is True
    message.refresh_from_db()
    assert message.expansion_done
    assert message.expansion_attempts == 3
    assert message.expansion_error == "3 tries failed; the last: the database failed (OperationalError)"


def test_a_successful_chunk_clears_the_failed_tries(settings):
    MemberFactory()
    message = segment_message(Segment.objects.get(name=Segment.ALL_USERS))
    with mock.patch.object(expansion, "message_audience", side_effect=OperationalError("server closed")):
        with pytest.raises(OperationalError):
            message_expand_chunk(message_id=message.id)
    message_expand(message_id=message.id)
    message.refresh_from_db()
    assert (message.expansion_done, message.expansion_attempts, message.expansion_error) == (True, 0, "")
    assert message.expanded_count == 1


def test_the_request_status_shows_why_an_expansion_was_given_up(client):
    MemberFactory()
    segment = segment_of("ca", [("state", "Equal", "CA")])
    response = post_json(client, segment_body(f"##{segment.id}##"))
    request_id = response.json()["id"]
    SegmentCondition.objects.filter(segment=segment).update(
        attribute="lastActiveDate", operator="Equal", value="9999-12-31"
    )
    message = SmsMessage.objects.get(request_id=request_id)
    SmsMessage.objects.filter(pk=message.pk).update(expansion_done=False, expected_total=None)
    message_expand(message_id=message.id)
    summary = client.get(f"/api/v1/message/sms/{request_id}").json()
    assert summary["messages"][0]["expanding"] is False
    assert "the date must lie between" in summary["messages"][0]["expansionError"]


def run_as_the_worker(args, **options):
    """The expansion task as a worker runs it: a failure is logged, the sweep tries again."""
    try:
        message_expand_chunk(message_id=args[0])
    except Exception:
        pass


def test_the_sweep_takes_the_oldest_first_and_failing_expansions_do_not_starve_it():
    MemberFactory()
    broken = segment_of("broken", [("lastActiveDate", "GreaterThan", "9999-12-31")])
    failing = [segment_message(broken) for _ in range(STALLED_BATCH)]
    healthy = segment_message(Segment.objects.get(name=Segment.ALL_USERS))
    old = healthy.created_at - STALLED_AFTER * 2
    SmsMessage.objects.filter(pk__in=[m.pk for m in failing]).update(created_at=old)
    SmsMessage.objects.filter(pk=healthy.pk).update(created_at=old + STALLED_AFTER / 2)
    with mock.patch.object(expand_message, "apply_async", side_effect=run_as_the_worker) as taken:
        assert queue_sweep()["expansions_resumed"] == STALLED_BATCH
        assert {call.kwargs["args"][0] for call in taken.call_args_list} == {m.pk for m in failing}
        assert SmsMessage.objects.filter(pk__in=[m.pk for m in failing], expansion_done=True).count() == STALLED_BATCH
        assert queue_sweep()["expansions_resumed"] == 1
    healthy.refresh_from_db()
    assert healthy.expansion_done and healthy.expanded_count == 1


# A segment that cannot be evaluated is a clear error --------------------------------------------


@pytest.fixture
def segments_client(db):
    from rest_framework.test import APIClient

    from messaging.models import SCOPES
    from messaging.services.api_keys import api_key_create

    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=api_key_create(name="segments", scopes=list(SCOPES))[1])
    return api


def test_the_segment_count_of_a_segment_the_database_refuses_is_a_400_with_text(segments_client):
    segment = number_segment_over_bad_data()
    response = segments_client.get(f"/api/v1/segments/{segment.id}", {"count": "true"})
    assert response.status_code == 400
    assert "the segment cannot be evaluated" in response.json()["message"]


def test_the_segment_count_of_a_segment_past_the_calendar_is_a_400_with_text(segments_client):
    MemberFactory()
    segment = segment_of("broken", [("lastActiveDate", "GreaterThan", "9999-12-31")])
    response = segments_client.get(f"/api/v1/segments/{segment.id}", {"count": "true"})
    assert response.status_code == 400
    assert "the date must lie between" in response.json()["message"]


def test_the_admin_segment_page_says_why_a_segment_cannot_be_counted(admin_client):
    segment = number_segment_over_bad_data()
    response = admin_client.get(f"/admin/audiences/segment/{segment.id}/change/")
    assert response.status_code == 200
    assert "cannot be counted" in response.content.decode()


def test_the_admin_segment_page_of_a_segment_past_the_calendar_answers(admin_client):
    segment = segment_of("broken", [("lastActiveDate", "GreaterThan", "9999-12-31")])
    response = admin_client.get(f"/admin/audiences/segment/{segment.id}/change/")
    assert response.status_code == 200
    assert "the date must lie between" in response.content.decode()


def test_the_admin_validate_page_lists_a_segment_the_database_refuses(admin_client):
    number_segment_over_bad_data()
    response = admin_client.post(
        "/admin/audiences/segment/validate/",
        {
            "definition": "1",
            "conditions-TOTAL_FORMS": "1",
            "conditions-0-number": "1",
            "conditions-0-attribute": "score",
            "conditions-0-operator": "GreaterThan",
            "conditions-0-value": "5",
        },
    )
    assert response.status_code == 200
    assert "the segment cannot be evaluated" in response.content.decode()


# The database's refusal of a too complex query --------------------------------------------------


def too_complex_error():
    """A real refusal by PostgreSQL: SQLSTATE 54023, too_many_arguments (class 54)."""
    arguments = ", ".join(["1"] * 101)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT concat({arguments})")
    except Exception as error:
        return error
    raise AssertionError("the database took a call with 101 arguments")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLSTATE class 54 is PostgreSQL's")
def test_a_query_the_database_refuses_as_too_complex_is_a_400_not_a_retry():
    error = too_complex_error()
    status, text, headers = translate_exception(error)
    assert (status, text) == (400, INVALID.format("request too complex for the database"))
    assert "Retry-After" not in headers
    response = contract_exception_handler(error, {})
    assert response.status_code == 400
    assert "Retry-After" not in response


def test_the_admin_message_page_says_why_an_expansion_was_given_up(admin_client):
    broken = segment_of("broken", [("lastActiveDate", "GreaterThan", "9999-12-31")])
    message = segment_message(broken)
    message_expand(message_id=message.id)
    page = admin_client.get(f"/admin/messaging/smsmessage/{message.id}/change/").content.decode()
    assert "given up: condition 1 (lastActiveDate): the date must lie between" in page
