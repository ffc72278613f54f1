import pytest

from messaging.backends import locmem
from messaging.models import Recipient
from messaging.services.dispatch import dispatch_due_run
from tests.factories import MemberFactory
from tests.helpers import one_message, post_json


@pytest.mark.django_db
def test_a_listed_member_is_queued_and_sent(client):
    member = MemberFactory(first_name="Ada")
    response = post_json(
        client,
        one_message(
            priorityService="true", recipients={"recipient": {"id": str(member.id)}}, content="Hi [[firstName]]"
        ),
    )
    assert response.status_code == 200, response.content
    assert response.json()["message"] == "Request Queued. "
    assert Recipient.objects.get().state == "initial"
    dispatch_due_run(seconds=5)
    assert [sms.text for sms in locmem.outbox] == ["Hi Ada"]
    assert Recipient.objects.get().state == "submitted"
