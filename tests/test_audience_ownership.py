"""Who may read and change an audience member: a partner key owns the members it creates, reads
those and the gateway's shared audience (staff and imports make it), changes only its own, and
never tells another partner's member from a missing one. Staff go by their permissions."""

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from audiences.models import Member
from messaging.models import Recipient
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory
from tests.helpers import grant

pytestmark = pytest.mark.django_db

URL = "/api/v1/audience"
NOT_FOUND = "Invalid Audience Member ID provided or no audience member found with given ID"
AUDIENCE = ["send", "status", "audience:read", "audience:write"]


def partner(name, scopes=AUDIENCE):
    api_key, raw_key = api_key_create(name=name, scopes=scopes)
    api = APIClient()
    api.credentials(HTTP_X_VOLTMX_APP_API_KEY=raw_key)
    api.owner = f"key:{api_key.pk}"
    return api


def staff(*permissions):
    user = get_user_model().objects.create_user("marketing", "m@example.com", "pw", is_staff=True)
    grant(user, *permissions)
    api = APIClient()
    api.force_authenticate(user)
    return api


def send(api, method, url, body=None):
    return api.generic(method, url, json.dumps(body or {}), content_type="application/json")


def body(**extra):
    return {"firstName": "Ada", "lastName": "L", "email": "ada@example.com", "country": "Kenya", **extra}


@pytest.fixture
def alpha():
    return partner("alpha")


@pytest.fixture
def beta():
    return partner("beta")


def answers(api, member_id):
    """What each member route answers a caller about one id: status and body."""
    routes = [
        ("GET", f"{URL}/{member_id}", None),
        ("PUT", f"{URL}/{member_id}", {"firstName": "Eve"}),
        ("PATCH", f"{URL}/modify?id={member_id}", {"firstName": "Eve"}),
        ("POST", f"{URL}/{member_id}/delete", None),
        ("DELETE", f"{URL}/{member_id}", None),
    ]
    return [(r.status_code, r.content) for r in (send(api, m, u, b) for m, u, b in routes)]


def test_another_partners_member_answers_exactly_as_a_missing_one(alpha, beta):
    theirs = MemberFactory(owner=alpha.owner, first_name="Ada")
    assert answers(beta, theirs.id) == answers(beta, theirs.id + 1000)
    status, content = answers(beta, theirs.id)[0]
    assert (status, json.loads(content)) == (400, {"id": "", "message": NOT_FOUND})
    theirs.refresh_from_db()
    assert theirs.first_name == "Ada"


def test_a_partner_cannot_patch_another_partners_member_found_by_email(alpha, beta):
    MemberFactory(owner=alpha.owner, email="ada@example.com", first_name="Ada")
    response = send(beta, "PATCH", f"{URL}/modify?emailId=ada@example.com", {"firstName": "Eve"})
    assert response.json() == {"id": "", "message": NOT_FOUND}
    assert Member.objects.get().first_name == "Ada"


def test_the_owner_reads_changes_and_deletes_its_member(alpha):
    member_id = send(alpha, "POST", URL, body()).json()["id"]
    assert alpha.get(f"{URL}/{member_id}").status_code == 200
    assert send(alpha, "PUT", f"{URL}/{member_id}", {"firstName": "Eve"}).status_code == 200
    assert send(alpha, "POST", f"{URL}/{member_id}/delete").json()["message"] == "User deleted successfully"


def test_a_partner_lists_its_own_members_and_the_shared_audience_only(alpha, beta):
    own = MemberFactory(owner=alpha.owner)
    shared = MemberFactory(owner="")
    MemberFactory(owner=beta.owner)
    page = alpha.get(URL).json()
    assert page["total"] == 2
    assert {m["id"] for m in page["audience"]} == {own.id, shared.id}


def test_a_partner_reads_a_shared_member_with_audience_read(alpha):
    shared = MemberFactory(owner="")
    assert alpha.get(f"{URL}/{shared.id}").status_code == 200
    assert partner("reader", ["audience:read"]).get(f"{URL}/{shared.id}").status_code == 200


def test_a_key_without_audience_read_cannot_read_shared_members():
    shared = MemberFactory(owner="")
    sender = partner("sender", ["send", "status"])
    assert sender.get(f"{URL}/{shared.id}").status_code == 403
    assert sender.get(URL).status_code == 403


def test_a_partner_cannot_change_or_delete_a_shared_member(alpha):
    shared = MemberFactory(owner="", first_name="Ada")
    for method, url in (("PUT", f"{URL}/{shared.id}"), ("POST", f"{URL}/{shared.id}/delete")):
        response = send(alpha, method, url, {"firstName": "Eve"})
        assert response.status_code == 403
        assert "shared audience" in response.json()["message"]
    shared.refresh_from_db()
    assert shared.first_name == "Ada"


def test_a_duplicate_of_another_partners_member_does_not_give_its_id(alpha, beta):
    MemberFactory(owner=alpha.owner, mobile="+254712345678", email="ada@example.com")
    for given in (body(mobileNumber="+254712345678", email="eve@example.com"), body()):
        response = send(beta, "POST", URL, given)
        assert response.status_code == 400
        assert response.json()["id"] == ""
    assert Member.objects.count() == 1


def test_a_duplicate_of_a_shared_member_gives_its_id(alpha):
    shared = MemberFactory(owner="", mobile="+254712345678")
    response = send(alpha, "POST", URL, body(mobileNumber="+254712345678"))
    assert response.json() == {"id": str(shared.id), "message": "User already exists with this mobile number"}


def test_a_partner_cannot_move_its_member_onto_another_partners_number(alpha, beta):
    MemberFactory(owner=alpha.owner, mobile="+254712345678")
    mine = MemberFactory(owner=beta.owner, mobile="+254712345679")
    response = send(beta, "PUT", f"{URL}/{mine.id}", {"mobileNumber": "+254712345678"})
    assert response.json() == {"id": "", "message": "User already exists with this mobile number"}


def test_staff_with_the_permissions_read_and_change_any_member(alpha):
    theirs = MemberFactory(owner=alpha.owner)
    marketing = staff("audiences.view_member", "audiences.change_member")
    assert marketing.get(f"{URL}/{theirs.id}").status_code == 200
    assert marketing.get(URL).json()["total"] == 1
    assert send(marketing, "PUT", f"{URL}/{theirs.id}", {"firstName": "Eve"}).status_code == 200


def test_a_member_staff_create_joins_the_shared_audience():
    marketing = staff("audiences.add_member")
    send(marketing, "POST", URL, body())
    assert Member.objects.get().owner == ""


def test_staff_without_the_permission_cannot_delete():
    member = MemberFactory()
    viewer = staff("audiences.view_member")
    assert send(viewer, "POST", f"{URL}/{member.id}/delete").status_code == 403
    assert Member.objects.exists()


def send_to(api, recipient, query=""):
    message = {"priorityService": "false", "content": "Hi [[firstName]]", "recipients": recipient}
    body = {"smsServiceRequest": {"messages": {"message": message}}}
    return send(api, "POST", "/api/v1/message/sms" + query, body)


def test_a_partner_cannot_send_to_another_partners_member_by_id():
    theirs = MemberFactory(owner="key:999999", first_name="Secret")
    response = send_to(partner("a"), {"recipient": {"id": str(theirs.pk)}})
    assert (response.status_code, response.json()["message"]) == (400, "No active audience members found")


def test_a_partner_sends_to_its_own_and_to_shared_members_by_id():
    mine = partner("a")
    own = MemberFactory(owner=mine.owner)
    shared = MemberFactory(owner="")
    response = send_to(mine, {"recipient": [{"id": str(own.pk)}, {"id": str(shared.pk)}]})
    assert response.status_code == 200, response.content
    assert sorted(Recipient.objects.values_list("phone", flat=True)) == sorted([own.mobile, shared.mobile])


def test_another_partners_members_number_is_no_member_and_lends_no_personal_data():
    theirs = MemberFactory(owner="key:999999", first_name="Secret")
    refused = send_to(partner("a"), {"recipient": {"mobile": theirs.mobile}})
    assert (refused.status_code, refused.json()["message"]) == (400, "No active audience members found")
    sent = send_to(partner("b"), {"recipient": {"mobile": theirs.mobile}}, "?checkUserExistence=false")
    assert sent.status_code == 200, sent.content
    (recipient,) = Recipient.objects.all()
    assert (recipient.member_id, recipient.content) == (None, "Hi ")
