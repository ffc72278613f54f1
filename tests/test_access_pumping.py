"""Safe defaults against SMS pumping (OWASP API4): a new key's daily quota, refused number types
(premium rate and the like) on every route a number reaches a send, a cap on the parts of one
request, and parts counted on the rendered (personalised) text, whose length is capped too."""

import io

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import override_settings
from rest_framework.test import APIClient

from audiences.models import Segment
from messaging.backends import locmem
from messaging.models import ApiKey, Recipient, SmsMessage, SmsRequest
from messaging.services.api_keys import api_key_create
from messaging.services.dispatch import dispatch_due_run
from messaging.services.expansion import message_expand
from messaging.services.quotas import _recipient_parts_sql, api_key_parts_used_today
from messaging.text import text_layout
from tests.factories import MemberFactory, RecipientFactory, SmsMessageFactory, SmsRequestFactory
from tests.helpers import one_message, post_json

SEND_TO_ANYONE = "/api/v1/message/sms?checkUserExistence=false"
US_PREMIUM = "+19002345678"
GB_PREMIUM = "+449098790000"


def key_client(raw_key):
    client = APIClient()
    client.credentials(HTTP_X_VOLTMX_APP_API_KEY=raw_key)
    return client


def to_mobiles(*mobiles, content="hello"):
    return one_message(
        priorityService="false", recipients={"recipient": [{"mobile": m} for m in mobiles]}, content=content
    )


def to_member(member, content="hello", **extra):
    return one_message(
        priorityService="false", recipients={"recipient": {"id": str(member.id)}}, content=content, **extra
    )


def to_everyone(content="hello", **extra):
    everyone = Segment.objects.get(name=Segment.ALL_USERS)
    criteria = {"criteria": f"##{everyone.id}##"}
    return one_message(priorityService="false", recipients={"segment": criteria}, content=content, **extra)


def used_parts(api_key, parts):
    """Parts this key has already sent today, as one recipient of a message of that many parts."""
    message = SmsMessageFactory(request=SmsRequestFactory(api_key=api_key), parts=parts)
    RecipientFactory(message=message, state="submitted")


# The default quota.


def test_a_new_key_has_the_default_daily_quota(db, settings):
    settings.SMS_DEFAULT_DAILY_QUOTA_PARTS = 250
    assert api_key_create(name="new")[0].daily_quota_parts == 250


def test_a_new_key_cannot_send_more_than_the_default_quota(db):
    api_key, raw_key = api_key_create(name="new")
    assert api_key.daily_quota_parts == 10000
    used_parts(api_key, 9999)
    client = key_client(raw_key)
    response = post_json(client, to_mobiles("+14155550100", "+14155550101"), url=SEND_TO_ANYONE)
    assert response.status_code == 429
    assert response.json()["message"] == (
        "Daily quota of 10000 message parts exceeded for this API key: 9999 used today, this request needs 2"
    )
    assert post_json(client, to_mobiles("+14155550100"), url=SEND_TO_ANYONE).status_code == 200


# Number types.


@pytest.mark.parametrize(
    "mobile, kind",
    [
        (US_PREMIUM, "PREMIUM_RATE"),
        (GB_PREMIUM, "PREMIUM_RATE"),
        ("+33884012345", "SHARED_COST"),
        ("+445512345678", "UAN"),
        ("+447012345678", "PERSONAL_NUMBER"),
        ("+447640123456", "PAGER"),
        ("+49177991234567", "VOICEMAIL"),
    ],
)
def test_a_refused_number_type_in_the_request_is_a_400_naming_it(client, mobile, kind):
    response = post_json(client, to_mobiles("+14155550100", mobile), url=SEND_TO_ANYONE)
    assert response.status_code == 400
    assert response.json() == {
        "id": "",
        "message": f"Invalid request format, Error messages :[number type {kind} not allowed: {mobile} @ message :1]",
    }
    assert not SmsRequest.objects.exists()


def test_us_900_and_uk_909_numbers_are_refused_together(client):
    response = post_json(client, to_mobiles(US_PREMIUM, GB_PREMIUM), url=SEND_TO_ANYONE)
    assert response.json()["message"] == (
        "Invalid request format, Error messages :"
        f"[number type PREMIUM_RATE not allowed: {US_PREMIUM} {GB_PREMIUM} @ message :1]"
    )


def test_a_refused_number_is_refused_to_a_staff_user_too(db, django_user_model):
    staff = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw")
    client = APIClient()
    client.force_authenticate(staff)
    response = post_json(client, to_mobiles(US_PREMIUM), url=SEND_TO_ANYONE)
    assert response.status_code == 400
    assert "number type PREMIUM_RATE not allowed" in response.json()["message"]


def test_mobiles_and_toll_free_and_fixed_lines_are_not_refused(client):
    response = post_json(client, to_mobiles("+254712345678", "+18005550100", "+442071838750"), url=SEND_TO_ANYONE)
    assert response.status_code == 200, response.content


def test_a_key_allowed_premium_rate_sends_to_it(db):
    api_key, raw_key = api_key_create(name="premium", allowed_number_types=["PREMIUM_RATE"])
    response = post_json(key_client(raw_key), to_mobiles(US_PREMIUM, GB_PREMIUM), url=SEND_TO_ANYONE)
    assert response.status_code == 200, response.content
    dispatch_due_run(seconds=5)
    assert sorted(sms.phone for sms in locmem.outbox) == sorted([US_PREMIUM, GB_PREMIUM])


def test_an_allowance_lifts_only_its_own_type(db):
    _, raw_key = api_key_create(name="premium", allowed_number_types=["PREMIUM_RATE"])
    response = post_json(key_client(raw_key), to_mobiles(US_PREMIUM, "+445512345678"), url=SEND_TO_ANYONE)
    assert response.json()["message"] == (
        "Invalid request format, Error messages :[number type UAN not allowed: +445512345678 @ message :1]"
    )


def test_a_member_reached_by_id_on_a_premium_number_is_rejected_at_dispatch(client):
    member = MemberFactory(mobile=US_PREMIUM)
    assert post_json(client, to_member(member, sendVoiceSmsOnFailure="true")).status_code == 200
    dispatch_due_run(seconds=5)
    assert locmem.outbox == []
    recipient = Recipient.objects.get()  # and no voice call in its place
    assert (recipient.state, recipient.error_code, recipient.error) == (
        "rejected",
        "number-type-not-allowed",
        "number type PREMIUM_RATE not allowed",
    )


def test_a_member_reached_by_segment_on_a_premium_number_is_rejected_at_dispatch(client):
    MemberFactory(mobile="+14155550100")
    MemberFactory(mobile=GB_PREMIUM, country="United Kingdom", state="")
    assert post_json(client, to_everyone()).status_code == 200
    message_expand(message_id=SmsMessage.objects.get().id)
    dispatch_due_run(seconds=5)
    assert [sms.phone for sms in locmem.outbox] == ["+14155550100"]
    refused = Recipient.objects.get(phone=GB_PREMIUM)
    assert (refused.state, refused.error) == ("rejected", "number type PREMIUM_RATE not allowed")


def test_a_segment_member_on_a_premium_number_is_sent_to_for_a_key_allowed_it(db):
    MemberFactory(mobile=GB_PREMIUM, country="United Kingdom", state="")
    _, raw_key = api_key_create(name="premium", allowed_number_types=["PREMIUM_RATE"])
    assert post_json(key_client(raw_key), to_everyone()).status_code == 200
    message_expand(message_id=SmsMessage.objects.get().id)
    dispatch_due_run(seconds=5)
    assert [sms.phone for sms in locmem.outbox] == [GB_PREMIUM]


def test_a_member_whose_number_is_of_no_known_type_is_rejected_at_dispatch(db):
    # A number that reached the audience some other way (an older import, say).
    RecipientFactory(phone="+15555550100", member=MemberFactory(mobile="+15555550100"))
    dispatch_due_run(seconds=5)
    assert locmem.outbox == []
    assert Recipient.objects.get().error == "number type UNKNOWN not allowed"


def test_a_resend_to_a_premium_number_is_rejected_at_dispatch(db):
    original = RecipientFactory(phone=US_PREMIUM, state="rejected")
    RecipientFactory(message=original.message, phone=US_PREMIUM, resend_of=original)
    dispatch_due_run(seconds=5)
    assert locmem.outbox == []
    assert Recipient.objects.get(resend_of=original).error == "number type PREMIUM_RATE not allowed"


# One request's parts.


def test_one_request_of_330000_parts_is_refused_naming_the_limit(db):
    # 10,000 recipients of a 5,000-character text (33 parts each), from a key without a quota.
    _, raw_key = api_key_create(name="unlimited", daily_quota_parts=0)
    mobiles = [f"+1415555{n:04d}" for n in range(10000)]
    response = post_json(key_client(raw_key), to_mobiles(*mobiles, content="x" * 5000), url=SEND_TO_ANYONE)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Invalid request format, Error messages :"
        "[more than 100000 message parts in one request (this one needs 330000)]"
    )
    assert not SmsRequest.objects.exists()


@override_settings(SMS_MAX_PARTS_PER_REQUEST=5)
def test_a_segment_message_counts_its_audience_against_the_parts_cap(db):
    for n in range(3):
        MemberFactory(mobile=f"+1415555010{n}")
    _, raw_key = api_key_create(name="unlimited", daily_quota_parts=0)
    response = post_json(key_client(raw_key), to_everyone(content="x" * 200))
    assert response.status_code == 400
    assert "more than 5 message parts in one request (this one needs 6)" in response.json()["message"]


@override_settings(SMS_MAX_PARTS_PER_REQUEST=0)
def test_no_cap_when_the_setting_is_zero(db):
    _, raw_key = api_key_create(name="unlimited", daily_quota_parts=0)
    response = post_json(key_client(raw_key), to_mobiles("+14155550100", content="x" * 5000), url=SEND_TO_ANYONE)
    assert response.status_code == 200


# Personalisation: parts counted on the rendered text, whose length is capped.


def test_the_quota_counts_the_parts_of_the_personalised_text(db):
    member = MemberFactory(attributes={"story": "y" * 400})  # "[[story]]" is one part, 400 y's are three
    api_key, raw_key = api_key_create(name="limited", daily_quota_parts=2)
    response = post_json(key_client(raw_key), to_member(member, content="[[story]]"))
    assert response.status_code == 429
    assert response.json()["message"].endswith("0 used today, this request needs 3")


def test_parts_used_today_count_the_personalised_text(db):
    member = MemberFactory(attributes={"story": "y" * 400})
    api_key, raw_key = api_key_create(name="limited", daily_quota_parts=8)
    assert post_json(key_client(raw_key), to_member(member, content="[[story]]")).status_code == 200
    assert SmsMessage.objects.get().parts == 1
    assert api_key_parts_used_today(api_key=api_key) == 3
    response = post_json(key_client(raw_key), to_member(member, content="[[story]]"))
    assert response.status_code == 200
    response = post_json(key_client(raw_key), to_member(member, content="[[story]]"))
    assert response.status_code == 429
    assert "6 used today, this request needs 3" in response.json()["message"]


@override_settings(SMS_MAX_RENDERED_CHARS=100)
def test_a_personalised_text_longer_than_the_cap_is_a_400(client):
    member = MemberFactory(attributes={"story": "y" * 400})
    response = post_json(client, to_member(member, content="Dear [[story]]"))
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Invalid request format, Error messages :[personalised content longer than 100 characters @ message :1]"
    )
    assert not SmsRequest.objects.exists()


@override_settings(SMS_MAX_RENDERED_CHARS=100)
def test_a_segment_member_whose_text_grows_past_the_cap_is_rejected_at_dispatch(client):
    MemberFactory(mobile="+14155550100", attributes={"story": "short"})
    MemberFactory(mobile="+14155550101", attributes={"story": "y" * 400})
    assert post_json(client, to_everyone(content="Dear [[story]]")).status_code == 200
    message_expand(message_id=SmsMessage.objects.get().id)
    dispatch_due_run(seconds=5)
    assert [(sms.phone, sms.text) for sms in locmem.outbox] == [("+14155550100", "Dear short")]
    refused = Recipient.objects.get(phone="+14155550101")
    assert (refused.state, refused.error) == ("rejected", "personalised content longer than 100 characters")


TEXTS = [
    "hello",
    "x" * 160,
    "x" * 161,
    "x" * 306,
    "x" * 307,
    "{[~]}" * 32,  # extension characters count two: 320 septets
    "\\|^€" * 20 + "\f",
    "é" * 200,  # in the GSM alphabet
    "ł" * 70,
    "ł" * 71,
    "Привет " * 30,
    "hi 😀" * 20,  # outside the Basic Multilingual Plane: two UTF-16 units each
    "line\nbreak\r\x1b-[x]",
]


def test_the_days_parts_count_each_stored_text_as_the_sender_does(db):
    sms_request = SmsRequestFactory()
    message = SmsMessageFactory(request=sms_request, content="template", parts=7)
    RecipientFactory(message=message, content="")  # the message's own text: its parts
    for text in TEXTS:
        RecipientFactory(message=message, content=text)
    rows = Recipient.objects.filter(message=message).order_by("id").annotate(counted=_recipient_parts_sql())
    counted = [row.counted for row in rows]
    expected = [7] + [text_layout(text).parts for text in TEXTS]
    # An astral character makes the whole text count as if every character were one: an upper bound.
    astral = TEXTS.index("hi 😀" * 20) + 1
    assert counted[:astral] + counted[astral + 1 :] == expected[:astral] + expected[astral + 1 :]
    assert counted[astral] >= expected[astral]
    assert rows.aggregate(total=Sum(_recipient_parts_sql()))["total"] == sum(counted)


# The key's limits, set by the command and in the admin.


def test_create_api_key_sets_scopes_quota_countries_and_number_types(db):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_key",
        "partner-x",
        "--scope",
        "send,status",
        "--scope",
        "twoway",
        "--daily-quota-parts",
        "500",
        "--countries",
        "us,KE",
        "--allow-number-type",
        "premium_rate",
        stdout=out,
        stderr=err,
    )
    api_key = ApiKey.objects.get(name="partner-x")
    assert api_key.scopes == ["send", "status", "twoway"]
    assert api_key.daily_quota_parts == 500
    assert api_key.allowed_countries == ["KE", "US"]
    assert api_key.allowed_number_types == ["PREMIUM_RATE"]
    assert out.getvalue().splitlines()[-1].startswith(api_key.prefix + ".")


def test_create_api_key_without_options_takes_the_defaults(db, settings):
    settings.SMS_DEFAULT_ALLOWED_COUNTRIES = ["US"]
    call_command("create_api_key", "partner-y", stdout=io.StringIO(), stderr=io.StringIO())
    api_key = ApiKey.objects.get(name="partner-y")
    assert (api_key.scopes, api_key.daily_quota_parts, api_key.allowed_countries, api_key.allowed_number_types) == (
        ["send", "status"],
        10000,
        ["US"],
        [],
    )


def test_create_api_key_can_lift_the_default_countries_and_quota(db, settings):
    settings.SMS_DEFAULT_ALLOWED_COUNTRIES = ["US"]
    call_command(
        "create_api_key",
        "any",
        "--countries",
        "any",
        "--daily-quota-parts",
        "0",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    api_key = ApiKey.objects.get(name="any")
    assert (api_key.allowed_countries, api_key.daily_quota_parts) == ([], 0)


def test_create_api_key_refuses_what_it_does_not_know_and_issues_nothing(db):
    with pytest.raises(CommandError) as refused:
        call_command(
            "create_api_key",
            "bad",
            "--scope",
            "send,admin",
            "--countries",
            "US,XX",
            "--allow-number-type",
            "EXPENSIVE",
            "--daily-quota-parts",
            "-1",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    message = str(refused.value)
    assert "Unknown scope: admin" in message
    assert "Unknown country code: XX" in message
    assert "Unknown number type: EXPENSIVE" in message
    assert "0 (unlimited) or more" in message
    assert not ApiKey.objects.exists()


@pytest.fixture
def admin_client(db, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client = APIClient()
    client.force_login(user)
    return client


def key_form(api_key, **changes):
    data = {
        "name": api_key.name,
        "scopes": ["send", "status"],
        "rate_limit_per_minute": "0",
        "daily_quota_parts": "10000",
        "allowed_countries": "",
        "allowed_number_types": [],
        "quiet_hours_start": "21:00:00",
        "quiet_hours_end": "08:00:00",
    }
    data.update(changes)
    return data


def test_staff_set_a_keys_scopes_quota_countries_and_number_types_in_the_admin(admin_client):
    api_key = api_key_create(name="partner")[0]
    url = f"/admin/messaging/apikey/{api_key.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'type="checkbox" name="scopes" value="audience:write"' in page
    assert 'type="checkbox" name="allowed_number_types" value="PREMIUM_RATE"' in page
    response = admin_client.post(
        url,
        key_form(
            api_key,
            scopes=["send", "segments"],
            daily_quota_parts="500",
            allowed_countries="us, ke",
            allowed_number_types=["PREMIUM_RATE"],
        ),
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    api_key.refresh_from_db()
    assert api_key.scopes == ["send", "segments"]
    assert api_key.daily_quota_parts == 500
    assert api_key.allowed_countries == ["KE", "US"]
    assert api_key.allowed_number_types == ["PREMIUM_RATE"]
    assert 'value="KE, US"' in admin_client.get(url).content.decode()


def test_the_admin_refuses_an_unknown_country_and_keeps_the_key(admin_client):
    api_key = api_key_create(name="partner")[0]
    url = f"/admin/messaging/apikey/{api_key.pk}/change/"
    response = admin_client.post(url, key_form(api_key, allowed_countries="US, XX", scopes=["send", "nonsense"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unknown country code: XX" in page
    assert "Select a valid choice. nonsense is not one of the available choices." in page
    api_key.refresh_from_db()
    assert api_key.allowed_countries == []


@pytest.mark.django_db
def test_marketing_cannot_grant_a_scope_beyond_its_own_permissions():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from ops.groups import console_groups_setup

    console_groups_setup()
    user = get_user_model().objects.create_user("marketer", is_staff=True)
    user.groups.add(Group.objects.get(name="marketing"))
    console = Client()
    console.force_login(user)
    api_key = api_key_create(name="partner")[0]
    url = f"/admin/messaging/apikey/{api_key.pk}/change/"
    refused = console.post(url, key_form(api_key, scopes=["send", "status", "config"]))
    assert refused.status_code == 200
    assert "You may not grant config" in refused.content.decode()
    api_key.refresh_from_db()
    assert api_key.scopes == ["send", "status"]
    # segments opens DELETE, which no group holds; audience:read only reads members.
    assert "You may not grant segments" in console.post(url, key_form(api_key, scopes=["segments"])).content.decode()
    granted = console.post(url, key_form(api_key, scopes=["send", "status", "audience:read"]))
    assert granted.status_code == 302
    api_key.refresh_from_db()
    assert api_key.scopes == ["send", "status", "audience:read"]


# The system check.


def test_the_check_warns_in_production_when_no_default_country_list_is_set(settings):
    settings.DEBUG = False
    settings.SMS_DEFAULT_ALLOWED_COUNTRIES = []
    assert "messaging.W001" in [message.id for message in run_checks()]


@pytest.mark.parametrize("debug, countries", [(True, []), (False, ["US"])])
def test_the_check_is_quiet_in_development_or_with_a_country_list(settings, debug, countries):
    settings.DEBUG = debug
    settings.SMS_DEFAULT_ALLOWED_COUNTRIES = countries
    assert "messaging.W001" not in [message.id for message in run_checks()]


def test_the_check_refuses_an_unknown_refused_number_type(settings):
    settings.SMS_REFUSED_NUMBER_TYPES = ["PREMIUM_RATE", "PREMIUM"]
    errors = [message for message in run_checks() if message.id == "messaging.E001"]
    assert errors and "PREMIUM" in errors[0].msg


def test_a_personalised_segment_message_counts_each_members_rendered_text(db):
    MemberFactory(mobile="+14155550100", attributes={"story": "y" * 400})  # three parts
    MemberFactory(mobile="+14155550101", attributes={"story": "short"})  # one part
    _, raw_key = api_key_create(name="limited", daily_quota_parts=3)
    response = post_json(key_client(raw_key), to_everyone(content="[[story]]"))
    assert response.status_code == 429
    assert response.json()["message"].endswith("0 used today, this request needs 4")


@override_settings(SMS_MAX_PARTS_PER_REQUEST=3)
def test_a_personalised_segment_message_counts_its_rendered_texts_against_the_parts_cap(db):
    MemberFactory(mobile="+14155550100", attributes={"story": "y" * 500})  # four parts with "Dear "
    _, raw_key = api_key_create(name="unlimited", daily_quota_parts=0)
    response = post_json(key_client(raw_key), to_everyone(content="Dear [[story]]"))
    assert "more than 3 message parts in one request (this one needs 4)" in response.json()["message"]


@pytest.mark.parametrize(
    "template",
    [
        "Hello [[firstName]], your score is [[score]]",
        "[[nickname,friend]] and [[lastName , customer]]!",
        "no tags at all",
        "[[firstName]]",
        "[[unknown]]",
        "[[country]] {€} [[email]]",
    ],
)
def test_a_template_rendered_in_the_database_reads_as_rendered_for_sending(db, template):
    from audiences.models import Member
    from messaging.personalise import member_values, render, rendered_sql

    MemberFactory(first_name="Ada", attributes={"score": 42, "nickname": ""})
    MemberFactory(first_name="Łucja", last_name="", attributes={"score": 3.5, "nickname": "Lu"})
    MemberFactory(first_name="", attributes={})
    rows = Member.objects.order_by("id").annotate(rendered_text=rendered_sql(template))
    assert [row.rendered_text for row in rows] == [render(template, member_values(row)) for row in rows]


def test_a_segment_members_text_rendered_at_send_time_counts_in_the_parts_used_today(db):
    MemberFactory(mobile="+14155550100", attributes={"story": "short"})
    api_key, raw_key = api_key_create(name="limited")
    assert post_json(key_client(raw_key), to_everyone(content="[[story]]")).status_code == 200
    message_expand(message_id=SmsMessage.objects.get().id)
    # The member's text grows after the request (an edit, an import): what is sent is counted.
    from audiences.models import Member

    Member.objects.update(attributes={"story": "y" * 400})
    dispatch_due_run(seconds=5)
    assert [len(sms.text) for sms in locmem.outbox] == [400]
    assert Recipient.objects.get().content == "y" * 400
    assert api_key_parts_used_today(api_key=api_key) == 3


def test_a_text_rendered_at_send_time_longer_than_its_template_grows_the_keys_booked_parts(db):
    from messaging.models import ApiKeyDailyUsage
    from messaging.services.quotas import api_key_parts_used_today

    test_a_segment_members_text_rendered_at_send_time_counts_in_the_parts_used_today(db)
    from django.db.models import Sum

    api_key = ApiKeyDailyUsage.objects.first().api_key
    booked = ApiKeyDailyUsage.objects.aggregate(parts=Sum("parts"))["parts"]
    assert booked >= api_key_parts_used_today(api_key=api_key) == 3


def test_an_audience_counted_only_at_expansion_grows_the_keys_booked_parts(db):
    from messaging.models import ApiKeyDailyUsage
    from messaging.services.quotas import api_key_parts_used_today
    from messaging.tasks import expand_message

    for n in range(3):
        MemberFactory(mobile=f"+1415555{n:04d}")
    api_key, raw_key = api_key_create(name="unlimited", daily_quota_parts=0)
    assert post_json(key_client(raw_key), to_everyone(content="hello")).status_code == 200
    assert api_key_parts_used_today(api_key=api_key) == 0  # no audience counted at the request
    expand_message(SmsMessage.objects.get().id)
    assert api_key_parts_used_today(api_key=api_key) == 3
    from django.db.models import Sum

    assert ApiKeyDailyUsage.objects.filter(api_key=api_key).aggregate(parts=Sum("parts"))["parts"] == 3
