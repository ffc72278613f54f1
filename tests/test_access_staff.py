"""Staff by permission, not by the staff flag, and provider secrets that are never shown again.

A view-only auditor once moved a Twilio provider's `Host URL` to a server of its own with the
masked token kept, and the next send carried the real Auth Token there; staff of any group could
cancel any partner's request; the admin showed provider secrets in clear to every group.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from rest_framework.test import APIClient

from messaging.models import Provider, Recipient, RecipientState
from messaging.services.dispatch import dispatch_batch
from messaging.services.providers import configuration, routing
from ops.groups import console_groups_setup
from tests.factories import RecipientFactory
from tests.helpers import grant
from tests.peers.http_twilio import LoopbackTwilio
from tests.test_access import send_one

SMSCONFIG = "/api/v1/smsconfig"
MASK = configuration.MASK


def in_group(group: str, username: str | None = None):
    user = get_user_model().objects.create_user(username or f"{group}-user", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def api_as(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def console_as(user):
    browser = Client()
    browser.force_login(user)
    return browser


def post_config(api, body):
    return api.generic("POST", SMSCONFIG, json.dumps(body), content_type="application/json")


# --- Other partners' requests: by permission --------------------------------------------------


@pytest.mark.django_db
def test_a_user_without_the_staff_flag_reads_another_partners_request_with_the_view_permission(client):
    request_id = send_one(client)
    reader = grant(get_user_model().objects.create_user("reader"), "messaging.view_smsrequest")
    assert api_as(reader).get(f"/api/v1/message/sms/{request_id}").status_code == 200


@pytest.mark.django_db
def test_the_staff_flag_without_the_permission_reads_nothing(client):
    request_id = send_one(client)
    flagged = get_user_model().objects.create_user("flagged", is_staff=True)
    assert api_as(flagged).get(f"/api/v1/message/sms/{request_id}").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("group", ["auditor", "marketing"])
def test_a_group_without_the_cancel_permission_cannot_cancel_a_partners_request(client, group):
    request_id = send_one(client)
    answer = api_as(in_group(group)).delete(f"/api/v1/messages/sms/{request_id}")
    assert answer.status_code == 403
    assert Recipient.objects.get().state == RecipientState.INITIAL


@pytest.mark.django_db
def test_the_operator_cancels_a_partners_request(client):
    request_id = send_one(client)
    answer = api_as(in_group("operator")).delete(f"/api/v1/messages/sms/{request_id}")
    assert answer.status_code == 200
    assert Recipient.objects.get().state == RecipientState.CANCELLED


@pytest.mark.django_db
def test_a_user_who_may_send_but_not_view_others_sees_only_its_own_request(client):
    """The status fetch and the request route read other callers' requests only by the permission."""
    from messaging.selectors import client_sees_every_request, sms_request_for_client

    request_id = int(send_one(client))
    sender = grant(get_user_model().objects.create_user("sender", is_staff=True), "messaging.add_smsrequest")
    assert sms_request_for_client(request_id=request_id, client=f"user:{sender.pk}") is None
    assert not client_sees_every_request(f"user:{sender.pk}")
    assert client_sees_every_request(f"user:{in_group('auditor').pk}")


@pytest.mark.django_db
def test_an_inactive_user_keeps_no_permission_to_see_others():
    from messaging.selectors import client_sees_every_request

    user = in_group("operator")
    user.is_active = False
    user.save()
    assert not client_sees_every_request(f"user:{user.pk}")


# --- The groups -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_setting_up_the_groups_takes_away_what_a_group_should_no_longer_have():
    auditor = Group.objects.get(name="auditor")
    stale = Permission.objects.get(content_type__app_label="messaging", codename="cancel_recipient")
    auditor.permissions.add(stale, Permission.objects.get(codename="change_provider"))
    console_groups_setup()
    codenames = set(auditor.permissions.values_list("codename", flat=True))
    assert codenames and all(codename.startswith("view_") for codename in codenames)


@pytest.mark.django_db
def test_the_groups_carry_what_the_issue_names():
    def carried(name):
        return {
            f"{app}.{codename}"
            for app, codename in Group.objects.get(name=name).permissions.values_list(
                "content_type__app_label", "codename"
            )
        }

    auditor, marketing, operator = carried("auditor"), carried("marketing"), carried("operator")
    assert auditor < marketing < operator
    assert {"messaging.add_smsrequest", "audiences.add_member", "audiences.change_segment"} <= marketing - auditor
    assert {"messaging.resend_recipient", "messaging.cancel_recipient", "messaging.change_provider"} <= (
        operator - marketing
    )
    assert not any(".delete_" in permission for permission in operator - {"audiences.delete_segmentcondition"})
    assert "messaging.add_inboundsms" not in operator


# --- Providers: who may change them, and secrets never shown again ----------------------------

TWILIO_TOKEN = "real-auth-token-0f3c"


@pytest.fixture
def twilio_pair():
    """The provider's own Twilio, and a stranger's server that would take the same credentials."""
    routing.providers_forget()
    routing.provider_circuits_reset()
    own, stranger = LoopbackTwilio(auth_token=TWILIO_TOKEN).start(), LoopbackTwilio(auth_token=TWILIO_TOKEN).start()
    yield own, stranger
    own.stop()
    stranger.stop()
    routing.providers_forget()
    routing.provider_circuits_reset()


@pytest.fixture
def twilio_provider(db, twilio_pair):
    own, _ = twilio_pair
    return Provider.objects.create(
        name="twilio-main",
        kind="TWILIO",
        properties={
            "Account SID": own.account_sid,
            "Auth Token": TWILIO_TOKEN,
            "Host URL": own.url,
            "From": "+15005550006",
        },
    )


def twilio_body(**properties):
    return {
        "provider": "TWILIO",
        "name": "twilio-main",
        "properties": [{"key": key, "value": value} for key, value in properties.items()],
    }


def send_one_text():
    recipient = RecipientFactory(phone="+14155550100", message__content="Hello")
    dispatch_batch()
    recipient.refresh_from_db()
    return recipient


def test_an_auditor_cannot_change_a_provider_through_the_api(twilio_pair, twilio_provider):
    _, stranger = twilio_pair
    answer = post_config(api_as(in_group("auditor")), twilio_body(**{"Host URL": stranger.url}))
    assert answer.status_code == 403
    assert Provider.objects.get().properties["Host URL"] == twilio_pair[0].url


def test_marketing_cannot_change_a_provider_through_the_api(twilio_pair, twilio_provider):
    answer = post_config(api_as(in_group("marketing")), twilio_body(**{"Host URL": twilio_pair[1].url}))
    assert answer.status_code == 403


def test_a_host_change_with_the_masked_token_is_refused_and_the_token_never_reaches_the_new_host(
    twilio_pair, twilio_provider
):
    own, stranger = twilio_pair
    operator = api_as(in_group("operator"))
    answer = post_config(operator, twilio_body(**{"Host URL": stranger.url, "Auth Token": MASK}))
    assert answer.status_code == 400
    assert answer.json() == {
        "id": "",
        "message": "Changing Host URL requires Auth Token to be entered again:"
        " a saved secret is never sent to a new address",
    }
    assert Provider.objects.get().properties["Host URL"] == own.url
    assert send_one_text().state == "submitted"
    assert (len(own.taken), stranger.taken) == (1, [])


def test_a_host_change_that_leaves_the_token_out_is_refused_too(twilio_pair, twilio_provider):
    answer = post_config(api_as(in_group("operator")), twilio_body(**{"Host URL": twilio_pair[1].url}))
    assert answer.status_code == 400
    assert "Auth Token" in answer.json()["message"]


def test_a_host_change_with_the_token_typed_again_is_taken(twilio_pair, twilio_provider):
    own, other = twilio_pair
    answer = post_config(
        api_as(in_group("operator")), twilio_body(**{"Host URL": other.url, "Auth Token": TWILIO_TOKEN})
    )
    assert answer.status_code == 200
    assert send_one_text().state == "submitted"
    assert (own.taken, len(other.taken)) == ([], 1)


def test_posting_the_masked_listing_back_unchanged_keeps_the_token(twilio_pair, twilio_provider):
    operator = api_as(in_group("operator"))
    listed = operator.get(SMSCONFIG).json()["providers"][0]
    body = {key: listed[key] for key in ("provider", "name", "enabled", "order", "properties")}
    assert post_config(operator, body).status_code == 200
    assert Provider.objects.get().properties["Auth Token"] == TWILIO_TOKEN


@pytest.mark.django_db
@pytest.mark.parametrize(("moved", "value"), [("Host", "203.0.113.9"), ("Port", "2776")])
def test_an_smpp_host_or_port_change_needs_the_password_again(moved, value):
    Provider.objects.create(
        name="carrier-a",
        kind="SMPP",
        properties={"Host": "127.0.0.1", "Port": "2775", "System ID": "gw", "Password": "bind-secret"},
    )
    operator = api_as(in_group("operator"))
    body = {"provider": "SMPP", "name": "carrier-a", "properties": [{"key": moved, "value": value}]}
    refused = post_config(operator, body)
    assert refused.status_code == 400 and "Password" in refused.json()["message"]
    body["properties"].append({"key": "Password", "value": "bind-secret"})
    assert post_config(operator, body).status_code == 200
    assert Provider.objects.get().properties[moved] == value


@pytest.mark.django_db
def test_a_vonage_host_change_needs_every_secret_again():
    Provider.objects.create(
        name="vonage",
        kind="NEXMO",
        properties={"API Key": "k", "API Secret": "s1", "Signature Secret": "s2", "Host URL": "https://rest.nexmo.com"},
    )
    body = {
        "provider": "NEXMO",
        "name": "vonage",
        "properties": [{"key": "Host URL", "value": "http://198.51.100.7"}, {"key": "API Secret", "value": "s1"}],
    }
    refused = post_config(api_as(in_group("operator")), body)
    assert refused.status_code == 400
    assert "Signature Secret" in refused.json()["message"] and "API Secret" not in refused.json()["message"]


@pytest.mark.django_db
def test_a_key_named_like_a_secret_is_masked_and_one_named_like_an_address_moves_the_provider():
    assert configuration.property_is_secret("Webhook Token") and configuration.property_is_secret("SMPP Password")
    assert configuration.property_is_endpoint("Callback URL") and configuration.property_is_endpoint("Server Port")
    assert not configuration.property_is_endpoint("Source TON") and not configuration.property_is_secret("System ID")


def test_no_api_listing_shows_a_saved_secret(twilio_pair, twilio_provider):
    for group in ("auditor", "marketing", "operator"):
        listing = api_as(in_group(group)).get(SMSCONFIG)
        if listing.status_code == 200:
            assert TWILIO_TOKEN not in listing.content.decode()


# --- Providers in the admin -------------------------------------------------------------------


def admin_form(provider: Provider, **properties) -> dict:
    return {
        "name": provider.name,
        "kind": provider.kind,
        "enabled": "on",
        "order": str(provider.order),
        "properties": json.dumps(properties),
        "quiet_hours_start": "21:00:00",
        "quiet_hours_end": "08:00:00",
    }


def change_url(provider: Provider) -> str:
    return f"/admin/messaging/provider/{provider.pk}/change/"


@pytest.mark.parametrize("group", ["auditor", "marketing", "operator"])
def test_no_admin_page_shows_a_saved_secret(twilio_pair, twilio_provider, group):
    browser = console_as(in_group(group))
    for url in (change_url(twilio_provider), "/admin/messaging/provider/", "/admin/"):
        page = browser.get(url)
        assert page.status_code == 200, url
        assert TWILIO_TOKEN not in page.content.decode(), f"{group}: {url}"
    assert MASK in browser.get(change_url(twilio_provider)).content.decode()


@pytest.mark.parametrize("group", ["auditor", "marketing"])
def test_a_group_without_the_change_permission_cannot_change_a_provider_in_the_admin(
    twilio_pair, twilio_provider, group
):
    _, stranger = twilio_pair
    form = admin_form(twilio_provider, **{"Host URL": stranger.url, "Auth Token": MASK, "Account SID": "AC1"})
    assert console_as(in_group(group)).post(change_url(twilio_provider), form).status_code == 403
    assert Provider.objects.get().properties["Host URL"] == twilio_pair[0].url


def test_the_admin_refuses_a_host_change_with_the_masked_token(twilio_pair, twilio_provider):
    own, stranger = twilio_pair
    stored = twilio_provider.properties
    form = admin_form(twilio_provider, **{**stored, "Host URL": stranger.url, "Auth Token": MASK})
    page = console_as(in_group("operator")).post(change_url(twilio_provider), form)
    assert page.status_code == 200  # the form again, with its error
    assert "requires Auth Token to be entered again" in page.content.decode()
    assert TWILIO_TOKEN not in page.content.decode()
    assert Provider.objects.get().properties == stored
    assert send_one_text().state == "submitted"
    assert (len(own.taken), stranger.taken) == (1, [])


def test_the_admin_keeps_the_stored_token_when_the_mask_comes_back_unchanged(twilio_pair, twilio_provider):
    stored = twilio_provider.properties
    form = admin_form(twilio_provider, **{**stored, "Auth Token": MASK, "From": "+15005550007"})
    page = console_as(in_group("operator")).post(change_url(twilio_provider), form)
    assert page.status_code == 302
    assert Provider.objects.get().properties == {**stored, "From": "+15005550007"}


def test_the_admin_takes_a_host_change_with_the_token_typed_again(twilio_pair, twilio_provider):
    own, other = twilio_pair
    stored = twilio_provider.properties
    form = admin_form(twilio_provider, **{**stored, "Host URL": other.url})
    page = console_as(in_group("operator")).post(change_url(twilio_provider), form)
    assert page.status_code == 302
    assert Provider.objects.get().properties["Host URL"] == other.url


@pytest.mark.django_db
def test_the_operator_adds_a_provider_in_the_admin_and_its_secret_is_masked_from_then_on():
    operator = console_as(in_group("operator"))
    form = admin_form(
        Provider(name="carrier-b", kind="SMPP", order=3),
        **{"Host": "127.0.0.1", "Port": "2775", "System ID": "gw", "Password": "first-bind-secret"},
    )
    assert operator.post("/admin/messaging/provider/add/", form).status_code == 302
    provider = Provider.objects.get(name="carrier-b")
    assert provider.properties["Password"] == "first-bind-secret"
    page = operator.get(change_url(provider)).content.decode()
    assert "first-bind-secret" not in page and MASK in page


def test_the_admin_refuses_a_kind_change_that_would_keep_a_masked_secret(twilio_pair, twilio_provider):
    form = admin_form(twilio_provider, **{**twilio_provider.properties, "Auth Token": MASK})
    form["kind"] = "NEXMO"
    page = console_as(in_group("operator")).post(change_url(twilio_provider), form)
    assert page.status_code == 200
    assert "Changing the provider&#x27;s kind requires Auth Token to be entered again" in page.content.decode()
    assert Provider.objects.get().kind == "TWILIO"
