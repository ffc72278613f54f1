"""Quiet hours in the recipient's local time, per API key or per provider, with time frozen."""

import datetime as dt
from datetime import timedelta

import pytest
import time_machine

from messaging.backends import locmem
from messaging.models import Provider
from messaging.services.dispatch import dispatch_batch
from messaging.services.providers import routing
from messaging.services.quiet_hours import quiet_hours_opening
from tests.factories import RecipientFactory, SmsRequestFactory

pytestmark = pytest.mark.django_db
NEW_YORK = "+12125550100"
NAIROBI = "+254712345678"
# 03:00 UTC: 22:00 in New York (quiet), 06:00 in Nairobi (quiet), 19:00 in San Francisco (open).
NIGHT = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)
WINDOW = (dt.time(21, 0), dt.time(8, 0))


@pytest.fixture
def quiet_key(api_key):
    key = api_key[0]
    key.quiet_hours_enabled = True
    key.save()
    return key


@pytest.fixture(autouse=True)
def _fresh_registry():
    routing.providers_forget()
    yield
    routing.providers_forget()


def recipient_of(key, phone, **message):
    return RecipientFactory(phone=phone, message__request=SmsRequestFactory(api_key=key), **message)


def test_a_number_in_its_daytime_is_sent_at_once():
    assert quiet_hours_opening(phone="+14155550100", now=NIGHT, window=WINDOW) == NIGHT


def test_a_number_in_its_night_waits_for_eight_in_the_morning_local_time():
    opening = quiet_hours_opening(phone=NAIROBI, now=NIGHT, window=WINDOW)
    assert opening == dt.datetime(2026, 11, 25, 5, 0, tzinfo=dt.UTC)


def test_a_region_with_several_zones_waits_until_all_of_them_are_open():
    # +1 with no area code known to one zone: the whole US and Canada; the latest zone decides.
    opening = quiet_hours_opening(phone="+18005550100", now=NIGHT, window=WINDOW)
    assert opening.astimezone(dt.UTC).hour >= 13


def test_a_message_due_in_the_recipients_night_is_not_sent(quiet_key):
    with time_machine.travel(NIGHT, tick=False):
        recipient_of(quiet_key, NEW_YORK, message__start_at=NIGHT)
        dispatch_batch()
    assert locmem.outbox == []


def test_a_held_message_is_due_when_the_window_opens(quiet_key):
    with time_machine.travel(NIGHT, tick=False):
        recipient = recipient_of(quiet_key, NEW_YORK, message__start_at=NIGHT)
        dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.due_at, recipient.attempts) == (
        "initial",
        dt.datetime(2026, 11, 25, 13, 0, tzinfo=dt.UTC),
        0,
    )


def test_a_held_message_is_sent_once_the_window_opens(quiet_key):
    with time_machine.travel(NIGHT, tick=False):
        recipient_of(quiet_key, NEW_YORK, message__start_at=NIGHT)
        dispatch_batch()
    with time_machine.travel(dt.datetime(2026, 11, 25, 13, 0, 1, tzinfo=dt.UTC), tick=False):
        dispatch_batch()
    assert [sms.phone for sms in locmem.outbox] == [NEW_YORK]


def test_a_priority_message_ignores_quiet_hours(quiet_key):
    with time_machine.travel(NIGHT, tick=False):
        recipient_of(quiet_key, NEW_YORK, message__start_at=NIGHT, message__priority=True)
        dispatch_batch()
    assert [sms.phone for sms in locmem.outbox] == [NEW_YORK]


def test_a_message_that_would_expire_before_the_window_opens_expires(quiet_key):
    with time_machine.travel(NIGHT, tick=False):
        recipient = recipient_of(
            quiet_key, NEW_YORK, message__start_at=NIGHT, message__expires_at=NIGHT + timedelta(hours=2)
        )
        dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, locmem.outbox) == ("expired", [])


def test_quiet_hours_of_a_key_that_has_them_off_hold_nothing(api_key):
    with time_machine.travel(NIGHT, tick=False):
        recipient_of(api_key[0], NEW_YORK, message__start_at=NIGHT)
        dispatch_batch()
    assert [sms.phone for sms in locmem.outbox] == [NEW_YORK]


def test_a_providers_quiet_hours_hold_its_messages(settings):
    Provider.objects.create(name="console", kind="CONSOLE", quiet_hours_enabled=True)
    with time_machine.travel(NIGHT, tick=False):
        recipient = RecipientFactory(phone=NEW_YORK, message__start_at=NIGHT)
        dispatch_batch()
    recipient.refresh_from_db()
    assert (recipient.state, recipient.due_at.hour) == ("initial", 13)


def test_a_keys_own_window_is_used(quiet_key):
    quiet_key.quiet_hours_start = dt.time(23, 0)
    quiet_key.quiet_hours_end = dt.time(7, 0)
    quiet_key.save()
    with time_machine.travel(NIGHT, tick=False):  # 22:00 in New York: inside 21-08, outside 23-07
        recipient_of(quiet_key, NEW_YORK, message__start_at=NIGHT)
        dispatch_batch()
    assert [sms.phone for sms in locmem.outbox] == [NEW_YORK]
