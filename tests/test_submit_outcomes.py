"""What each kind of outcome does to its row, decided without the database (submit_outcomes)."""

import datetime as dt
from datetime import timedelta

import pytest

from messaging.backends import PermanentProviderError, SendOutcome, TransientProviderError
from messaging.models import Recipient
from messaging.services.submit_outcomes import (
    MAX_ATTEMPTS,
    Failed,
    Retry,
    Submitted,
    outcomes_classify,
)

T0 = dt.datetime(2026, 6, 1, 15, 0, tzinfo=dt.UTC)
DELAY = 30.0


def timed_out(text="read timeout"):
    error = TransientProviderError(text, code="timeout")
    error.outcome_unknown = True  # as http_common marks a timeout after the request left
    return error


def row(**fields):
    """A claimed row as dispatch holds it, never saved: only what the classification reads."""
    return Recipient(**{"id": 1, "attempts": 1, "expires_at": None, "outcome_unknown": False, **fields})


def classify(recipient, outcome):
    return outcomes_classify(
        claimed=[recipient], outcomes=[] if outcome is None else [outcome], now=T0, delay_of=lambda attempts: DELAY
    )


def verdict(verdicts):
    """(kind, entry) of the one row classified."""
    kinds = {
        "submitted": verdicts.submitted,
        "retried": verdicts.retried,
        "rejected": verdicts.rejected,
        "expired": verdicts.expired,
        "unanswered": verdicts.unanswered,
    }
    (found,) = [(kind, entries[0]) for kind, entries in kinds.items() if entries]
    return found


CASES = [
    (
        "accepted",
        row(),
        SendOutcome(key=1, provider_message_id="00A1B2"),
        ("submitted", Submitted(recipient_id=1, provider_message_id="00A1B2", provider_ref="a1b2")),
    ),
    (
        "accepted with an id longer than the column",
        row(),
        SendOutcome(key=1, provider_message_id="7" * 120),
        ("submitted", Submitted(recipient_id=1, provider_message_id="7" * 100, provider_ref="7" * 100)),
    ),
    (
        "temporary failure with retries left",
        row(attempts=3),
        SendOutcome(key=1, error=TransientProviderError("throttled", code="88")),
        ("retried", Retry(1, T0 + timedelta(seconds=DELAY), "88", "throttled", outcome_unknown=False)),
    ),
    (
        "temporary failure with time left before the expiry",
        row(expires_at=T0 + timedelta(seconds=DELAY + 1)),
        SendOutcome(key=1, error=TransientProviderError("queue full", code="20")),
        ("retried", Retry(1, T0 + timedelta(seconds=DELAY), "20", "queue full", outcome_unknown=False)),
    ),
    (
        "temporary failure with the attempts exhausted",
        row(attempts=MAX_ATTEMPTS),
        SendOutcome(key=1, error=TransientProviderError("throttled", code="88")),
        ("expired", Failed(recipient_id=1, error_code="88", detail="gave up: throttled")),
    ),
    (
        "temporary failure whose retry would come at or after the expiry",
        row(expires_at=T0 + timedelta(seconds=DELAY)),
        SendOutcome(key=1, error=TransientProviderError("throttled", code="88")),
        ("expired", Failed(recipient_id=1, error_code="88", detail="gave up: throttled")),
    ),
    (
        "permanent failure",
        row(),
        SendOutcome(key=1, error=PermanentProviderError("unknown subscriber", code="11")),
        ("rejected", Failed(recipient_id=1, error_code="11", detail="unknown subscriber")),
    ),
    (
        "permanent failure on the last attempt is still a rejection",
        row(attempts=MAX_ATTEMPTS),
        SendOutcome(key=1, error=PermanentProviderError("invalid number", code="bad-number")),
        ("rejected", Failed(recipient_id=1, error_code="bad-number", detail="invalid number")),
    ),
    (
        "unknown outcome: a timeout after the request left",
        row(),
        SendOutcome(key=1, error=timed_out()),
        ("retried", Retry(1, T0 + timedelta(seconds=DELAY), "timeout", "read timeout", outcome_unknown=True)),
    ),
    (
        "unknown outcome kept: a row taken again after its lease ran out",
        row(outcome_unknown=True),
        SendOutcome(key=1, error=TransientProviderError("throttled", code="88")),
        ("retried", Retry(1, T0 + timedelta(seconds=DELAY), "88", "throttled", outcome_unknown=True)),
    ),
    (
        "no outcome at all: left leased",
        row(),
        None,
        ("unanswered", 1),
    ),
    (
        "an outcome for another row only",
        row(),
        SendOutcome(key=2, provider_message_id="x"),
        ("unanswered", 1),
    ),
    (
        "provider down on the last route is retried",
        row(),
        SendOutcome(key=1, error=TransientProviderError("bind refused", code="bind")),
        ("retried", Retry(1, T0 + timedelta(seconds=DELAY), "bind", "bind refused", outcome_unknown=False)),
    ),
    (
        "provider down with the attempts exhausted",
        row(attempts=MAX_ATTEMPTS + 1),
        SendOutcome(key=1, error=TransientProviderError("connection refused", code="connect")),
        ("expired", Failed(recipient_id=1, error_code="connect", detail="gave up: connection refused")),
    ),
    (
        "an error's code and text cut to their columns",
        row(),
        SendOutcome(key=1, error=PermanentProviderError("e" * 600, code="c" * 80)),
        ("rejected", Failed(recipient_id=1, error_code="c" * 64, detail="e" * 500)),
    ),
    (
        "an error without text is known by its code",
        row(),
        SendOutcome(key=1, error=TransientProviderError(code="unavailable")),
        ("retried", Retry(1, T0 + timedelta(seconds=DELAY), "unavailable", "unavailable", outcome_unknown=False)),
    ),
]


@pytest.mark.parametrize(("recipient", "outcome", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_outcome_gives_its_verdict(recipient, outcome, expected):
    assert verdict(classify(recipient, outcome)) == expected


def test_a_batch_keeps_the_order_it_was_claimed_in():
    claimed = [row(id=pk) for pk in (5, 3, 9, 4)]
    outcomes = [
        SendOutcome(key=9, provider_message_id="c"),
        SendOutcome(key=5, provider_message_id="a"),
        SendOutcome(key=4, error=TransientProviderError("busy", code="88")),
        SendOutcome(key=3, provider_message_id="b"),
    ]
    verdicts = outcomes_classify(claimed=claimed, outcomes=outcomes, now=T0, delay_of=lambda attempts: DELAY)
    assert ([s.recipient_id for s in verdicts.submitted], [r.recipient_id for r in verdicts.retried]) == (
        [5, 3, 9],
        [4],
    )


def test_the_wait_before_a_retry_is_asked_by_the_rows_attempts():
    asked = []
    outcomes_classify(
        claimed=[row(id=1, attempts=4), row(id=2, attempts=7)],
        outcomes=[SendOutcome(key=pk, error=TransientProviderError("busy", code="88")) for pk in (1, 2)],
        now=T0,
        delay_of=lambda attempts: asked.append(attempts) or DELAY,
    )
    assert asked == [4, 7]


def test_a_real_retry_falls_within_its_backoff():
    verdicts = outcomes_classify(
        claimed=[row(attempts=2)],
        outcomes=[SendOutcome(key=1, error=TransientProviderError("busy", code="88"))],
        now=T0,
    )
    assert T0 + timedelta(seconds=5) <= verdicts.retried[0].due_at <= T0 + timedelta(seconds=10)
