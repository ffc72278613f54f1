"""Per-key limits (OWASP API4): a daily quota of message parts and a list of destination countries,
each refused with a 4xx that names the limit."""

from datetime import UTC, datetime

import pytest

from messaging.api.errors import translate_exception
from messaging.errors import ContractError
from messaging.models import Recipient, RecipientState, SmsMessage, SmsRequest
from messaging.services.api_keys import api_key_create
from messaging.services.quotas import api_key_parts_used_today, phone_country, quota_check
from messaging.specs import MessageSpec

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
US_PHONE = "+14155550100"
KE_PHONE = "+254712345678"
GB_PHONE = "+442071838750"


def spec(position=1, content="hello"):
    return MessageSpec(
        position=position,
        content=content,
        channel="text",
        priority=False,
        start_at=NOW,
        expires_at=None,
        voice_on_failure=False,
    )


def stored_recipients(api_key, count, *, parts=1, state=RecipientState.SUBMITTED, created_at=NOW):
    sms_request = SmsRequest.objects.create(
        id=SmsRequest.objects.count() + 1, api_key=api_key, format="json", body_hash="x", client="key:1"
    )
    SmsRequest.objects.filter(pk=sms_request.pk).update(created_at=created_at)
    message = SmsMessage.objects.create(
        request=sms_request, position=1, content="x", start_at=NOW, encoding="gsm7", parts=parts
    )
    Recipient.objects.bulk_create(
        Recipient(message=message, phone=f"+1415555{n:04d}", state=state, due_at=NOW) for n in range(count)
    )


@pytest.fixture
def key(db):
    return api_key_create(name="limited")[0]


def test_a_phone_is_placed_in_its_country():
    assert [phone_country(p) for p in (US_PHONE, KE_PHONE, GB_PHONE)] == ["US", "KE", "GB"]


def test_a_key_without_limits_passes_anything(key):
    quota_check(api_key=key, specs=[spec()], phones_by_message={1: [US_PHONE, KE_PHONE]}, now=NOW)


def test_a_request_without_a_key_passes(db):
    quota_check(api_key=None, specs=[spec()], phones_by_message={1: [KE_PHONE]}, now=NOW)


def test_a_country_outside_the_list_is_refused_with_403_naming_it(key):
    key.allowed_countries = ["US", "ca"]
    with pytest.raises(ContractError) as refused:
        quota_check(api_key=key, specs=[spec()], phones_by_message={1: [US_PHONE, KE_PHONE, GB_PHONE]}, now=NOW)
    assert refused.value.status_code == 403
    assert refused.value.message == "Destination country not allowed for this API key: GB, KE (allowed: CA, US)"


def test_countries_in_the_list_pass(key):
    key.allowed_countries = ["US", "KE"]
    quota_check(api_key=key, specs=[spec()], phones_by_message={1: [US_PHONE, KE_PHONE]}, now=NOW)


def test_parts_used_today_count_each_recipient_by_its_message_parts(key):
    stored_recipients(key, 3, parts=2)
    stored_recipients(key, 4, parts=1, state=RecipientState.NOT_ATTEMPTED)
    stored_recipients(key, 5, parts=1, created_at=datetime(2026, 11, 24, 23, 59, tzinfo=UTC))
    assert api_key_parts_used_today(api_key=key, now=NOW) == 6


def test_a_request_within_the_daily_quota_passes(key):
    key.daily_quota_parts = 10
    stored_recipients(key, 8)
    quota_check(api_key=key, specs=[spec()], phones_by_message={1: [US_PHONE, KE_PHONE]}, now=NOW)


def test_a_request_past_the_daily_quota_is_refused_with_429_naming_it(key):
    key.daily_quota_parts = 10
    stored_recipients(key, 9)
    with pytest.raises(ContractError) as refused:
        quota_check(api_key=key, specs=[spec()], phones_by_message={1: [US_PHONE, KE_PHONE]}, now=NOW)
    assert refused.value.status_code == 429
    assert refused.value.message == (
        "Daily quota of 10 message parts exceeded for this API key: 9 used today, this request needs 2"
    )
    assert refused.value.retry_after == 12 * 3600 + 1
    assert translate_exception(refused.value)[2] == {"Retry-After": str(12 * 3600 + 1)}


def test_a_long_text_counts_all_its_parts_against_the_quota(key):
    key.daily_quota_parts = 5
    with pytest.raises(ContractError) as refused:
        quota_check(api_key=key, specs=[spec(content="x" * 400)], phones_by_message={1: [US_PHONE, KE_PHONE]}, now=NOW)
    assert "this request needs 6" in refused.value.message


def test_yesterdays_parts_do_not_count_against_todays_quota(key):
    key.daily_quota_parts = 10
    stored_recipients(key, 10, created_at=datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    quota_check(api_key=key, specs=[spec()], phones_by_message={1: [US_PHONE]}, now=NOW)


def post_mobiles(raw_key, phones, content="hello", fmt="json"):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=raw_key)
    url = "/api/v1/message/sms?checkUserExistence=false"
    if fmt == "xml":
        recipients = "".join(f'<recipient mobile="{phone}"/>' for phone in phones)
        body = (
            "<smsServiceRequest><messages><message><priorityService>false</priorityService>"
            f"<recipients>{recipients}</recipients><content>{content}</content></message></messages>"
            "</smsServiceRequest>"
        )
        return api.generic("POST", url, body, content_type="text/xml")
    message = {
        "priorityService": "false",
        "content": content,
        "recipients": {"recipient": [{"mobile": p} for p in phones]},
    }
    return api.post(url, {"smsServiceRequest": {"messages": {"message": message}}}, format="json")


@pytest.fixture
def limited(db):
    api_key, raw_key = api_key_create(name="limited")
    return api_key, raw_key


def test_the_api_refuses_a_country_outside_the_keys_list_with_403_and_stores_nothing(limited):
    api_key, raw_key = limited
    api_key.allowed_countries = ["US"]
    api_key.save()
    response = post_mobiles(raw_key, [US_PHONE, KE_PHONE])
    assert response.status_code == 403
    assert response.json() == {
        "id": "",
        "message": "Destination country not allowed for this API key: KE (allowed: US)",
    }
    assert not SmsRequest.objects.exists()


def test_the_api_refuses_a_request_past_the_daily_quota_with_429_and_retry_after(limited):
    api_key, raw_key = limited
    api_key.daily_quota_parts = 3
    api_key.save()
    assert post_mobiles(raw_key, [US_PHONE, KE_PHONE]).status_code == 200
    response = post_mobiles(raw_key, [US_PHONE, GB_PHONE])
    assert response.status_code == 429
    assert response.json()["message"] == (
        "Daily quota of 3 message parts exceeded for this API key: 2 used today, this request needs 2"
    )
    assert int(response["Retry-After"]) > 0
    assert SmsRequest.objects.count() == 1


def test_the_quota_refusal_speaks_xml_to_an_xml_client(limited):
    api_key, raw_key = limited
    api_key.daily_quota_parts = 1
    api_key.save()
    response = post_mobiles(raw_key, [US_PHONE, KE_PHONE], fmt="xml")
    assert response.status_code == 429
    assert b"<code>429</code><description>Daily quota of 1 message parts exceeded" in response.content


def test_a_request_within_the_keys_limits_is_queued(limited):
    api_key, raw_key = limited
    api_key.allowed_countries = ["US", "KE"]
    api_key.daily_quota_parts = 2
    api_key.save()
    response = post_mobiles(raw_key, [US_PHONE, KE_PHONE])
    assert response.status_code == 200
    assert Recipient.objects.count() == 2


def usage_of(api_key):
    """The parts booked on the key's shards of the day, and whether every shard is verified."""
    from messaging.models import ApiKeyDailyUsage

    shards = list(ApiKeyDailyUsage.objects.filter(api_key=api_key).values_list("parts", "verified"))
    return sum(parts for parts, _ in shards), all(verified for _, verified in shards)


def test_a_keys_later_requests_of_the_day_are_checked_by_one_upsert_not_by_counting(limited):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api_key, raw_key = limited
    api_key.daily_quota_parts = 10
    api_key.save()
    assert post_mobiles(raw_key, [US_PHONE, KE_PHONE]).status_code == 200
    assert usage_of(api_key) == (2, True)
    with CaptureQueriesContext(connection) as queries:
        assert post_mobiles(raw_key, [US_PHONE]).status_code == 200
    statements = " ".join(query["sql"] for query in queries.captured_queries)
    assert "SUM(" not in statements and "FOR UPDATE" not in statements
    assert "messaging_apikeydailyusage" in statements
    assert usage_of(api_key) == (3, True)


def test_a_refused_request_books_nothing(limited):
    api_key, raw_key = limited
    api_key.daily_quota_parts = 3
    api_key.save()
    assert post_mobiles(raw_key, [US_PHONE, KE_PHONE]).status_code == 200
    assert post_mobiles(raw_key, [US_PHONE, GB_PHONE]).status_code == 429
    assert usage_of(api_key) == (2, True)


def test_parts_freed_by_a_cancel_are_found_by_the_exact_count_when_the_booked_parts_are_full(limited):
    api_key, raw_key = limited
    api_key.daily_quota_parts = 3
    api_key.save()
    assert post_mobiles(raw_key, [US_PHONE, KE_PHONE]).status_code == 200
    Recipient.objects.update(state=RecipientState.CANCELLED)  # booked 2, the day's count now 0
    assert post_mobiles(raw_key, [US_PHONE, GB_PHONE]).status_code == 200
    assert usage_of(api_key) == (2, True)  # set from the exact count: 0 before, 2 booked
    response = post_mobiles(raw_key, [US_PHONE, GB_PHONE])
    assert response.status_code == 429
    assert "2 used today, this request needs 2" in response.json()["message"]


def test_the_first_request_of_the_day_counts_what_the_row_does_not_know(limited):
    api_key, raw_key = limited
    api_key.daily_quota_parts = 3
    api_key.save()
    stored_recipients(api_key, 2, created_at=datetime.now(UTC))  # stored before the row existed
    response = post_mobiles(raw_key, [US_PHONE, GB_PHONE])
    assert response.status_code == 429
    assert "2 used today, this request needs 2" in response.json()["message"]
    assert post_mobiles(raw_key, [US_PHONE]).status_code == 200
    assert usage_of(api_key) == (3, True)


def test_a_key_without_a_quota_books_its_parts_unverified(limited):
    api_key, raw_key = limited
    api_key.daily_quota_parts = 0
    api_key.save()
    assert post_mobiles(raw_key, [US_PHONE, KE_PHONE]).status_code == 200
    assert usage_of(api_key) == (2, False)
    api_key.daily_quota_parts = 3
    api_key.save()
    response = post_mobiles(raw_key, [US_PHONE, GB_PHONE])
    assert response.status_code == 429
    assert "2 used today, this request needs 2" in response.json()["message"]


def test_a_stored_text_is_read_in_python_as_the_days_count_reads_it():
    from messaging.services.quotas import stored_text_parts

    assert stored_text_parts("") == 1
    assert stored_text_parts("", empty=3) == 3
    assert stored_text_parts("x" * 160) == 1
    assert stored_text_parts("x" * 161) == 2
    assert stored_text_parts("€" * 80) == 1  # an extension character counts two
    assert stored_text_parts("€" * 81) == 2
    assert stored_text_parts("é" * 70) == 1  # in GSM 03.38
    assert stored_text_parts("ж" * 70) == 1
    assert stored_text_parts("ж" * 71) == 2
    assert stored_text_parts("😀" * 35) == 1  # the day's count's upper bound: every unit doubled
    assert stored_text_parts("😀" + "ж" * 35) == 2


@pytest.fixture
def four_shards(limited, settings, monkeypatch):
    """A quota of 4 parts on 4 shards of 1 part each; requests book on the shard `shard[0]`."""
    from messaging.services import quota_usage

    settings.API_KEY_USAGE_SHARDS = 4
    monkeypatch.setattr(quota_usage, "SHARD_MIN_PARTS", 1)
    shard = [0]
    monkeypatch.setattr(quota_usage, "usage_shard", lambda quota: shard[0])
    api_key, raw_key = limited
    api_key.daily_quota_parts = 4
    api_key.save()
    return api_key, raw_key, shard


def counted(raw_key, phones):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = post_mobiles(raw_key, phones)
    return response, any("SUM(" in query["sql"] for query in queries.captured_queries)


def shards_of(api_key):
    from messaging.models import ApiKeyDailyUsage

    return list(ApiKeyDailyUsage.objects.filter(api_key=api_key).order_by("shard").values_list("parts", flat=True))


def test_a_request_past_its_shards_budget_is_counted_exactly_and_the_quota_is_shared_out_again(four_shards):
    api_key, raw_key, shard = four_shards
    response, exact = counted(raw_key, [US_PHONE])
    assert response.status_code == 200 and exact  # the key's first request of the day
    assert shards_of(api_key) == [1, 0, 0, 0]
    response, exact = counted(raw_key, [KE_PHONE])  # shard 0 is full: counted, and shared out
    assert response.status_code == 200 and exact
    assert shards_of(api_key) == [1, 1, 0, 0]
    shard[0] = 2
    response, exact = counted(raw_key, [GB_PHONE])  # fits shard 2's budget: no count
    assert response.status_code == 200 and not exact
    assert shards_of(api_key) == [1, 1, 1, 0]
    response, exact = counted(raw_key, [US_PHONE, KE_PHONE])  # 3 + 2 past 4, by the exact count
    assert response.status_code == 429 and exact
    assert "3 used today, this request needs 2" in response.json()["message"]
    assert post_mobiles(raw_key, ["+14155550199"]).status_code == 200
    assert post_mobiles(raw_key, ["+14155550198"]).status_code == 429
    assert sum(shards_of(api_key)) == 4


def test_a_growth_after_the_request_makes_the_next_request_count_exactly(four_shards):
    from messaging.services.quotas import usage_grow

    api_key, raw_key, shard = four_shards
    assert post_mobiles(raw_key, [US_PHONE]).status_code == 200
    shard[0] = 1
    usage_grow([(api_key.pk, datetime.now(UTC), 2)])  # a text rendered longer at send time, say
    assert usage_of(api_key) == (3, False)
    response, exact = counted(raw_key, [KE_PHONE])
    assert response.status_code == 200 and exact
    assert usage_of(api_key) == (2, True)  # the exact count: the growth was only booked, not stored


def test_a_quota_changed_since_the_shards_were_shared_out_is_counted_exactly(four_shards):
    api_key, raw_key, shard = four_shards
    assert post_mobiles(raw_key, [US_PHONE]).status_code == 200
    api_key.daily_quota_parts = 1
    api_key.save()
    shard[0] = 0
    response, exact = counted(raw_key, [KE_PHONE])
    assert response.status_code == 429 and exact
