"""Wake-ups are coalesced in each process: a busy stream of requests publishes one a queue in
WAKE_INTERVAL, a request after a quiet spell publishes at once, and a forced one always."""

import pytest

from messaging import tasks
from messaging.services import wakeups


@pytest.fixture
def published(monkeypatch):
    sent = []
    clock = [1000.0]
    monkeypatch.setattr(wakeups, "_last_wake", {})
    monkeypatch.setattr(wakeups.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(tasks.dispatch_due, "apply_async", lambda **options: sent.append(options["queue"]))
    return sent, clock


def test_a_busy_stream_publishes_once_an_interval(published):
    sent, clock = published
    for _ in range(50):
        wakeups.request_accepted(expand_message_ids=[], priority=False)
        clock[0] += wakeups.WAKE_INTERVAL / 10
    # 50 requests over five intervals: the first, then one as each interval ran out.
    assert sent == ["default"] * 5


def test_after_a_quiet_spell_the_first_request_wakes_at_once(published):
    sent, clock = published
    wakeups.request_accepted(expand_message_ids=[], priority=False)
    clock[0] += wakeups.WAKE_INTERVAL + 0.001
    wakeups.request_accepted(expand_message_ids=[], priority=False)
    assert sent == ["default", "default"]


def test_a_priority_request_always_wakes_its_queue(published):
    sent, _ = published
    for _ in range(3):
        wakeups.request_accepted(expand_message_ids=[], priority=True)
    assert sent == ["priority"] * 3
