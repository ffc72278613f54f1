"""Builders shared by the console's tests: staff users in a group, failed recipients."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from messaging.models import RecipientEvent
from tests.factories import RecipientFactory

PASSWORD = "a-long-console-password-1"


def staff_in(group: str, username: str | None = None):
    user = get_user_model().objects.create_user(
        username=username or f"{group}-user", password=PASSWORD, is_staff=True, email=f"{group}@example.com"
    )
    user.groups.add(Group.objects.get(name=group))
    return user


def failed_recipient(state: str = "rejected", error_code: str = "0x0000000B", **fields):
    """A recipient that went to a provider and failed, with its history."""
    now = timezone.now()
    values = {"provider": "smpp-main", "provider_message_id": "abc123", "final_at": now, **fields}
    recipient = RecipientFactory(state=state, error_code=error_code, **values)
    RecipientEvent.objects.create(recipient=recipient, state="submitted", at=now, provider_message_id="abc123")
    RecipientEvent.objects.create(recipient=recipient, state=state, at=now, error_code=error_code)
    return recipient
