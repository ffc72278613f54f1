"""Superscript digits pass str.isdigit() but not int(): every place that checks digits before
int() must refuse them rather than fail."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from messaging.management.commands._console import moment

SUPERSCRIPT_TWO = "\u00b2"


@pytest.mark.django_db
def test_the_request_search_in_the_admin_refuses_superscript_digits(client):
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(staff)
    response = client.get("/admin/messaging/smsrequest/", {"q": SUPERSCRIPT_TWO})
    assert response.status_code == 200


@pytest.mark.django_db
def test_the_message_search_in_the_admin_refuses_superscript_digits(client):
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(staff)
    response = client.get("/admin/messaging/smsmessage/", {"q": "1" + SUPERSCRIPT_TWO})
    assert response.status_code == 200


@pytest.mark.django_db
def test_the_recipient_search_in_the_admin_refuses_superscript_digits(client):
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(staff)
    response = client.get("/admin/messaging/recipient/", {"q": f"member:{SUPERSCRIPT_TWO}"})
    assert response.status_code == 200


def test_an_age_with_superscript_digits_is_a_command_error():
    with pytest.raises(CommandError):
        moment(SUPERSCRIPT_TWO + "h")
