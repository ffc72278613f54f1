"""Consent belongs to the person: a member who texted STOP is not subscribed again by the audience
API, the admin's form or an import; a text from the number (START) or a staff member with the
permission, giving a reason, lifts it."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audiences.models import Member
from messaging.models import SCOPES
from messaging.services.api_keys import api_key_create
from messaging.services.inbound import inbound_sms_receive
from tests.factories import MemberFactory
from tests.helpers import grant

pytestmark = pytest.mark.django_db

URL = "/api/v1/audience"
PHONE = "+14155550100"
CHANGELIST = "/admin/audiences/member/"


@pytest.fixture
def api_key(db):
    return api_key_create(name="partner", scopes=list(SCOPES))


@pytest.fixture
def stopped(api_key):
    """A partner's member who texted STOP."""
    member = MemberFactory(mobile=PHONE, owner=f"key:{api_key[0].pk}")
    inbound_sms_receive(phone=PHONE, text="STOP")
    member.refresh_from_db()
    return member


def send(client, method, url, body):
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def test_a_stop_is_recorded_as_the_persons(stopped):
    assert stopped.sms_subscription is False
    assert stopped.sms_opted_out_at is not None


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_the_api_cannot_subscribe_a_member_who_texted_stop(client, stopped, method):
    url = f"{URL}/{stopped.id}" if method == "PUT" else f"{URL}/modify?id={stopped.id}"
    response = send(client, method, url, {"smsSubscription": True, "firstName": "Eve"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("smsSubscription cannot be set to true: this member opted out")
    stopped.refresh_from_db()
    assert (stopped.sms_subscription, stopped.first_name) != (True, "Eve")
    assert stopped.sms_subscription is False


def test_the_documented_full_modify_body_is_refused_for_such_a_member(client, stopped):
    body = {"firstName": "Ada", "lastName": "L", "country": "India", "email": "ada@example.com"}
    response = send(client, "PUT", f"{URL}/{stopped.id}", {**body, "smsSubscription": True})
    assert response.status_code == 400


def test_other_changes_to_such_a_member_still_go_through(client, stopped):
    response = send(client, "PUT", f"{URL}/{stopped.id}", {"firstName": "Eve", "smsSubscription": False})
    assert response.status_code == 200
    stopped.refresh_from_db()
    assert (stopped.first_name, stopped.sms_subscription) == ("Eve", False)


def test_a_start_from_the_number_lifts_the_stop(client, stopped):
    inbound_sms_receive(phone=PHONE, text="START")
    stopped.refresh_from_db()
    assert (stopped.sms_subscription, stopped.sms_opted_out_at) == (True, None)
    assert send(client, "PUT", f"{URL}/{stopped.id}", {"smsSubscription": False}).status_code == 200
    assert send(client, "PUT", f"{URL}/{stopped.id}", {"smsSubscription": True}).status_code == 200


def test_a_member_unsubscribed_through_the_api_can_be_subscribed_through_it(client, api_key):
    member = MemberFactory(owner=f"key:{api_key[0].pk}", sms_subscription=False)
    assert send(client, "PUT", f"{URL}/{member.id}", {"smsSubscription": True}).status_code == 200


def test_an_import_does_not_subscribe_a_member_who_texted_stop(admin_client, stopped):
    upload = SimpleUploadedFile(
        "m.csv",
        f"firstName,lastName,email,mobileNumber,country,state,smsSubscription\n"
        f"Ada,L,{stopped.email},{PHONE},United States,CA,true\n".encode(),
    )
    admin_client.post("/admin/audiences/member/import/", {"file": upload}, follow=True)
    stopped.refresh_from_db()
    assert (stopped.sms_subscription, stopped.first_name) == (False, "Ada")


def test_the_admin_form_does_not_offer_the_subscription_of_such_a_member(admin_client, stopped):
    page = admin_client.get(f"{CHANGELIST}{stopped.id}/change/").content.decode()
    assert 'name="sms_subscription"' not in page
    assert 'name="first_name"' in page


def lift(client, member, reason):
    return client.post(
        CHANGELIST, {"action": "lift_opt_out", "_selected_action": [member.id], "reason": reason}, follow=True
    )


def test_staff_with_the_permission_lift_a_stop_with_a_reason(admin_client, stopped):
    response = lift(admin_client, stopped, "Written consent received on 2026-11-30")
    assert "1 members subscribed to SMS again" in response.content.decode()
    stopped.refresh_from_db()
    assert (stopped.sms_subscription, stopped.sms_opted_out_at) == (True, None)
    assert "Written consent received on 2026-11-30" in stopped.sms_opt_out_lifted
    entry = LogEntry.objects.get(object_id=str(stopped.id))
    assert "Written consent received on 2026-11-30" in entry.get_change_message()


def test_the_lift_asks_for_a_reason_first(admin_client, stopped):
    page = admin_client.post(CHANGELIST, {"action": "lift_opt_out", "_selected_action": [stopped.id]})
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    lift(admin_client, stopped, "   ")
    stopped.refresh_from_db()
    assert stopped.sms_opted_out_at is not None


def test_staff_without_the_permission_cannot_lift_a_stop(stopped):
    user = get_user_model().objects.create_user("clerk", "c@example.com", "pw", is_staff=True)
    grant(user, "audiences.view_member", "audiences.change_member")
    clerk = Client()
    clerk.force_login(user)
    assert "lift_opt_out" not in clerk.get(CHANGELIST).content.decode()
    lift(clerk, stopped, "because")
    stopped.refresh_from_db()
    assert stopped.sms_opted_out_at is not None
    assert Member.objects.get().sms_subscription is False


def test_a_staff_member_given_the_lift_permission_may_lift(stopped):
    user = get_user_model().objects.create_user("compliance", "c@example.com", "pw", is_staff=True)
    grant(user, "audiences.view_member", "audiences.change_member", "audiences.lift_opt_out")
    officer = Client()
    officer.force_login(user)
    lift(officer, stopped, "Consent form signed in store")
    stopped.refresh_from_db()
    assert stopped.sms_subscription is True
    assert "lifted by compliance: Consent form signed in store" in stopped.sms_opt_out_lifted
