"""A request's state and its cancellation, ownership, unknown URLs, and a store that is down."""

from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from rest_framework.test import APIClient

from messaging.models import Recipient, SmsRequest
from messaging.services.api_keys import api_key_create
from tests.factories import MemberFactory
from tests.helpers import one_message, post_json, post_xml


@pytest.fixture
def request_id(client, db):
    reachable = MemberFactory.create_batch(2)
    inactive = MemberFactory(active=False)
    recipients = {"recipient": [{"id": m.id} for m in [*reachable, inactive]]}
    response = post_json(client, one_message(priorityService="false", recipients=recipients, content="x"))
    assert response.status_code == 200, response.content
    return response.json()["id"]


@pytest.fixture
def other_client(db):
    _, raw_key = api_key_create(name="someone else")
    other = APIClient()
    other.credentials(HTTP_X_VOLTMX_APP_API_KEY=raw_key)
    return other


def test_the_detail_counts_recipients_per_state(client, request_id):
    detail = client.get(f"/api/v1/message/sms/{request_id}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["id"] == request_id
    assert body["counts"]["initial"] == 2
    assert body["counts"]["not attempted"] == 1
    assert body["counts"]["total"] == 3
    assert body["messages"][0]["counts"]["total"] == 3


def test_cancel_answers_how_many_entries_it_cancelled(client, request_id):
    response = client.delete(f"/api/v1/messages/sms/{request_id}")
    assert response.status_code == 200
    assert response.json() == {
        "id": "",
        "message": f"Cancelled 2 message entries of the Message with ID : {request_id}",
    }
    assert sorted(Recipient.objects.values_list("state", flat=True)) == ["cancelled", "cancelled", "not attempted"]


def test_cancel_twice_cancels_nothing_more(client, request_id):
    client.delete(f"/api/v1/messages/sms/{request_id}")
    response = client.delete(f"/api/v1/messages/sms/{request_id}")
    assert response.json()["message"] == f"Cancelled 0 message entries of the Message with ID : {request_id}"


def test_the_detail_shows_what_was_cancelled(client, request_id):
    client.delete(f"/api/v1/messages/sms/{request_id}")
    counts = client.get(f"/api/v1/message/sms/{request_id}").json()["counts"]
    assert (counts["cancelled"], counts["initial"]) == (2, 0)


def test_another_keys_request_is_not_found(other_client, request_id):
    response = other_client.get(f"/api/v1/message/sms/{request_id}")
    assert response.status_code == 404
    assert response.json() == {"id": "", "message": "Not found"}


def test_another_key_cannot_cancel_a_request(other_client, request_id):
    response = other_client.delete(f"/api/v1/messages/sms/{request_id}")
    assert response.status_code == 404
    assert not Recipient.objects.filter(state="cancelled").exists()


@pytest.mark.parametrize("request_id", ["123", "abc", "9" * 30, "-1"])
def test_an_unknown_request_id_is_not_found(client, db, request_id):
    assert client.get(f"/api/v1/message/sms/{request_id}").status_code == 404
    assert client.delete(f"/api/v1/messages/sms/{request_id}").status_code == 404


@pytest.mark.parametrize("url", ["/api/v1/nothing", "/api/v1/message/sms/", "/vpns/api/x", "/kpns/api/v1/message"])
def test_an_unknown_api_url_answers_the_contract_body(client, db, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.json() == {"id": "", "message": "Not found"}


def test_an_unknown_api_url_answers_xml_to_an_xml_client(client, db):
    response = post_xml(client, "<smsServiceRequest/>", url="/api/v1/nothing")
    assert response.status_code == 404
    assert response.content.endswith(b"<smsResponse><code>404</code><description>Not found</description></smsResponse>")


def test_a_wrong_method_is_405_with_the_contract_body(client, db):
    response = client.get("/api/v1/message/sms")
    assert response.status_code == 405
    assert response.json()["id"] == ""


def test_an_error_outside_the_api_keeps_djangos_page(client, db):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def failing_on(statement_start):
    real_execute = CursorWrapper.execute

    def execute(self, sql, params=None):
        if sql.lstrip().upper().startswith(statement_start):
            raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
        return real_execute(self, sql, params)

    return mock.patch.object(CursorWrapper, "execute", execute)


def test_a_store_that_fails_on_write_is_503_with_retry_after(client, db):
    member = MemberFactory()
    body = one_message(priorityService="true", recipients={"recipient": {"id": member.id}}, content="x")
    with failing_on(("INSERT", "WITH")):  # the request's rows are written by one WITH ... INSERT
        response = post_json(client, body)
    assert response.status_code == 503
    assert response.json() == {"id": "", "message": "Server failure to process request"}
    assert int(response["Retry-After"]) > 0
    assert not SmsRequest.objects.exists()


def test_a_store_that_fails_on_read_is_503_in_xml_too(client, db):
    with failing_on("SELECT"):
        response = post_xml(client, "<smsServiceRequest/>")
    assert response.status_code == 503
    assert response.content.endswith(
        b"<smsResponse><code>503</code><description>Server failure to process request</description></smsResponse>"
    )
    assert "Retry-After" in response


def test_an_unexpected_failure_is_500_without_its_cause(client, db):
    member = MemberFactory()
    body = one_message(priorityService="true", recipients={"recipient": {"id": member.id}}, content="x")
    with mock.patch("messaging.api.views.sms_request_submit", side_effect=RuntimeError("secret detail")):
        response = post_json(client, body)
    assert response.status_code == 500
    assert response.json() == {"id": "", "message": "Server failure to process request"}


def test_an_unexpected_failure_is_500_without_its_cause_in_xml_too(client, db, caplog):
    member = MemberFactory()
    body = (
        "<smsServiceRequest><messages><message><priorityService>true</priorityService>"
        f'<recipients><recipient id="{member.id}"/></recipients><content>x</content>'
        "</message></messages></smsServiceRequest>"
    )
    with mock.patch("messaging.api.views.sms_request_submit", side_effect=RuntimeError("secret detail")):
        response = post_xml(client, body)
    assert response.status_code == 500
    assert response.content.endswith(
        b"<smsResponse><code>500</code><description>Server failure to process request</description></smsResponse>"
    )
    assert b"secret detail" not in response.content
    assert "secret detail" in caplog.text  # the cause goes to the server log


def test_a_failure_outside_drf_answers_the_contract_body(db, settings):
    from django.test import Client

    from messaging.api.views import api_server_error

    request = Client().get("/api/v1/anything").wsgi_request
    response = api_server_error(request)
    assert response.status_code == 500
    assert response.content == b'{"id":"","message":"Server failure to process request"}'


def test_a_store_down_outside_drf_is_503_with_retry_after(db):
    from django.test import Client

    from messaging.api.views import api_server_error

    request = Client().get("/api/v1/anything").wsgi_request
    try:
        raise OperationalError("could not connect to server")
    except OperationalError:
        response = api_server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.content == b'{"id":"","message":"Server failure to process request"}'
