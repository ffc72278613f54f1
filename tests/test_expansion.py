import logging
from unittest import mock

import pytest

from audiences.models import AudienceAttribute, Segment, SegmentCondition
from messaging.backends import locmem
from messaging.models import Recipient, SmsMessage
from messaging.services import expansion
from messaging.services.dispatch import dispatch_due_run
from messaging.services.expansion import message_expand, message_expand_chunk
from tests.factories import MemberFactory
from tests.helpers import one_message, post_json

pytestmark = pytest.mark.django_db


def segment_of(name, *conditions, definition=""):
    segment = Segment.objects.create(name=name, definition=definition, published=True)
    for number, (attribute, operator, value) in enumerate(conditions, start=1):
        SegmentCondition.objects.create(
            segment=segment, number=number, attribute=attribute, operator=operator, value=value
        )
    return segment


def all_users():
    return Segment.objects.get(name=Segment.ALL_USERS)


def queue(client, *criteria, content="Hi", channel=None):
    message = {
        "content": content,
        "priorityService": "false",
        "recipients": {"segment": [{"criteria": text} for text in criteria]},
    }
    if channel:
        message["channel"] = channel
    response = post_json(client, one_message(**message))
    assert response.status_code == 200, response.content
    return SmsMessage.objects.get(request_id=response.json()["id"])


def phones(message):
    return sorted(Recipient.objects.filter(message=message).values_list("phone", flat=True))


def test_only_active_sms_subscribed_members_are_taken(client):
    MemberFactory(mobile="+14155550100")
    MemberFactory(mobile="+14155550101", active=False)
    MemberFactory(mobile="+14155550102", sms_subscription=False)
    MemberFactory(mobile=None)
    message = queue(client, f"##{all_users().id}##")
    message_expand(message_id=message.id)
    assert phones(message) == ["+14155550100"]


def test_voice_messages_take_voice_subscribers(client):
    MemberFactory(mobile="+14155550100", voice_subscription=False)
    MemberFactory(mobile="+14155550101", sms_subscription=False)
    message = queue(client, f"##{all_users().id}##", channel="voice")
    message_expand(message_id=message.id)
    assert phones(message) == ["+14155550101"]


def test_a_member_in_several_criteria_gets_one_row(client):
    MemberFactory(mobile="+14155550100", state="CA")
    ca = segment_of("ca", ("state", "Equal", "CA"))
    message = queue(client, f"##{ca.id}##", f"##{all_users().id}##", f"##{ca.id}## OR ##{ca.id}##")
    message_expand(message_id=message.id)
    assert phones(message) == ["+14155550100"]


def test_not_in_criteria_excludes_a_segment(client):
    MemberFactory(mobile="+14155550100", state="CA")
    MemberFactory(mobile="+14155550101", state="NY")
    ca = segment_of("ca", ("state", "Equal", "CA"))
    message = queue(client, f"##{all_users().id}## AND NOT ##{ca.id}##")
    message_expand(message_id=message.id)
    assert phones(message) == ["+14155550101"]


def test_the_audience_is_taken_as_it_stands_at_expansion(client):
    leaving = MemberFactory(mobile="+14155550100")
    message = queue(client, f"##{all_users().id}##")
    leaving.sms_subscription = False
    leaving.save()
    MemberFactory(mobile="+14155550101")
    message_expand(message_id=message.id)
    assert phones(message) == ["+14155550101"]


def test_progress_is_recorded_chunk_by_chunk(client):
    for i in range(5):
        MemberFactory(mobile=f"+1415555010{i}")
    message = queue(client, f"##{all_users().id}##")
    assert message_expand_chunk(message_id=message.id, chunk_size=2) is False
    message.refresh_from_db()
    assert (message.expanded_count, message.expected_total, message.expansion_done) == (2, 5, False)
    message_expand(message_id=message.id, chunk_size=2)
    message.refresh_from_db()
    assert (message.expanded_count, message.expected_total, message.expansion_done) == (5, 5, True)


def test_dispatch_sends_the_first_chunk_before_the_last_is_written(client):
    for i in range(4):
        MemberFactory(mobile=f"+1415555010{i}")
    message = queue(client, f"##{all_users().id}##")
    message_expand_chunk(message_id=message.id, chunk_size=2)
    dispatch_due_run(seconds=5)
    assert len(locmem.outbox) == 2


def test_a_crash_inside_a_chunk_writes_nothing_and_resumes_without_duplicates(client):
    for i in range(6):
        MemberFactory(mobile=f"+1415555010{i}")
    message = queue(client, f"##{all_users().id}##")
    message_expand_chunk(message_id=message.id, chunk_size=2)
    real_insert = expansion._insert_recipients

    def insert_then_crash(*args):
        real_insert(*args)
        raise ConnectionError("worker lost")

    with mock.patch.object(expansion, "_insert_recipients", insert_then_crash), pytest.raises(ConnectionError):
        message_expand_chunk(message_id=message.id, chunk_size=2)
    message.refresh_from_db()
    assert (message.expanded_count, Recipient.objects.filter(message=message).count()) == (2, 2)
    message_expand(message_id=message.id, chunk_size=2)
    assert len(phones(message)) == len(set(phones(message))) == 6


def test_a_chunk_written_again_adds_no_duplicates(client):
    for i in range(3):
        MemberFactory(mobile=f"+1415555010{i}")
    message = queue(client, f"##{all_users().id}##")
    message_expand(message_id=message.id)
    SmsMessage.objects.filter(pk=message.pk).update(expansion_done=False, expansion_cursor=0)
    message_expand(message_id=message.id)
    assert len(phones(message)) == 3


def test_personalisation_is_rendered_per_member_at_send_time(client):
    AudienceAttribute.objects.create(name="tier", type="string")
    MemberFactory(mobile="+14155550100", first_name="Ada", attributes={"tier": "gold"})
    MemberFactory(mobile="+14155550101", first_name="")
    message = queue(client, f"##{all_users().id}##", content="Hi [[firstName,customer]] [[tier]]")
    message_expand(message_id=message.id)
    dispatch_due_run(seconds=5)
    assert sorted(sms.text for sms in locmem.outbox) == ["Hi Ada gold", "Hi customer "]


def test_a_segment_that_matches_nobody_ends_with_an_empty_message(client, caplog):
    MemberFactory(mobile="+14155550100", state="CA")
    ny = segment_of("ny", ("state", "Equal", "NY"))
    message = queue(client, f"##{ny.id}##")
    with caplog.at_level(logging.WARNING):
        message_expand(message_id=message.id)
    message.refresh_from_db()
    assert (message.expansion_done, message.expected_total, message.expanded_count) == (True, 0, 0)
    assert "matched no active member" in caplog.text


def test_a_segment_deleted_before_expansion_ends_it_with_nobody(client):
    MemberFactory(mobile="+14155550100", state="NY")
    ny = segment_of("ny", ("state", "Equal", "NY"))
    message = queue(client, f"##{ny.id}##")
    ny.delete()
    message_expand(message_id=message.id)
    message.refresh_from_db()
    assert (message.expansion_done, message.expanded_count) == (True, 0)


def test_an_opted_out_member_named_by_id_is_recorded_not_attempted(client):
    subscribed = MemberFactory(mobile="+14155550100")
    opted_out = MemberFactory(mobile="+14155550101", sms_subscription=False)
    response = post_json(
        client,
        one_message(
            content="Hi",
            priorityService="false",
            recipients={"recipient": [{"id": str(subscribed.id)}, {"id": str(opted_out.id)}]},
        ),
    )
    assert response.status_code == 200
    states = dict(Recipient.objects.values_list("phone", "state"))
    assert states == {"+14155550100": "initial", "+14155550101": "not attempted"}


def test_only_inactive_members_named_is_the_contract_400(client):
    inactive = MemberFactory(mobile="+14155550100", active=False)
    response = post_json(
        client,
        one_message(content="Hi", priorityService="false", recipients={"recipient": {"id": str(inactive.id)}}),
    )
    assert response.status_code == 400
    assert response.json()["message"] == "No active audience members found"
