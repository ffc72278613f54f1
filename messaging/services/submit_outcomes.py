"""What a provider's answers mean for the rows of a batch, decided without the database.

`outcomes_classify` takes the claimed rows and the outcomes a backend returned and says, as plain
values, what becomes of each row:

- submitted: the provider took it; its provider id and the canonical form receipts match by;
- retried: a transient error with attempts and time left; due again after `retry_delay`;
- rejected: a permanent error, final;
- expired: a transient error with no attempt (MAX_ATTEMPTS) or no time (its expiry) left, final;
- unanswered: no outcome at all. The row stays leased; when the lease runs out it is taken
  again and marked outcome unknown, as is a retried row whose error says the provider may have
  it (a timeout after the request left).

A provider down as a whole (`dispatch.PROVIDER_DOWN_CODES`) is a transient error here: dispatch
only records it on the last route, the others pass the rows on. `submit_records` writes what
this module decides; the retry policy (backoff, attempt limit) is stated here once.
"""

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from messaging.backends import ProviderError, SendOutcome
from messaging.models import Recipient
from smsgateway.columns import fit

from .receipts import provider_ref_of

RETRY_BASE_SECONDS = 5
RETRY_CAP_SECONDS = 600
MAX_ATTEMPTS = 12


def retry_delay(attempts: int) -> float:
    """Exponential backoff with full jitter."""
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Submitted:
    recipient_id: int
    provider_message_id: str
    provider_ref: str


@dataclass(frozen=True)
class Retry:
    recipient_id: int
    due_at: datetime
    error_code: str
    error: str
    outcome_unknown: bool


@dataclass(frozen=True)
class Failed:
    """A final failure: its error code and the detail its event and the row keep."""

    recipient_id: int
    error_code: str
    detail: str


@dataclass
class Verdicts:
    submitted: list[Submitted] = field(default_factory=list)
    retried: list[Retry] = field(default_factory=list)
    rejected: list[Failed] = field(default_factory=list)
    expired: list[Failed] = field(default_factory=list)
    unanswered: list[int] = field(default_factory=list)


def outcomes_classify(
    *,
    claimed: Iterable[Recipient],
    outcomes: Iterable[SendOutcome],
    now: datetime,
    delay_of: Callable[[int], float] = retry_delay,
) -> Verdicts:
    """Sort each claimed row by its outcome, in the order claimed. Reads the rows' `pk`,
    `attempts`, `expires_at` and `outcome_unknown`; `delay_of(attempts)` gives a retry's wait."""
    by_key = {outcome.key: outcome for outcome in outcomes}
    verdicts = Verdicts()
    for recipient in claimed:
        outcome = by_key.get(recipient.pk)
        if outcome is None:
            verdicts.unanswered.append(recipient.pk)
        elif outcome.error is None:
            verdicts.submitted.append(
                Submitted(
                    recipient_id=recipient.pk,
                    provider_message_id=fit(Recipient, "provider_message_id", outcome.provider_message_id),
                    provider_ref=fit(Recipient, "provider_ref", provider_ref_of(outcome.provider_message_id)),
                )
            )
        elif outcome.error.permanent:
            verdicts.rejected.append(_failed(recipient.pk, outcome.error, str(outcome.error)))
        else:
            _transient_sort(verdicts, recipient, outcome.error, now + timedelta(seconds=delay_of(recipient.attempts)))
    return verdicts


def _transient_sort(verdicts: Verdicts, recipient: Recipient, error: ProviderError, due_at: datetime) -> None:
    if recipient.attempts >= MAX_ATTEMPTS or (recipient.expires_at is not None and due_at >= recipient.expires_at):
        verdicts.expired.append(_failed(recipient.pk, error, f"gave up: {error}"))
        return
    verdicts.retried.append(
        Retry(
            recipient_id=recipient.pk,
            due_at=due_at,
            error_code=fit(Recipient, "error_code", error.code),
            error=fit(Recipient, "error", str(error)),
            # A timeout after the request left: the provider may have it. Recorded, then sent again.
            outcome_unknown=recipient.outcome_unknown or bool(getattr(error, "outcome_unknown", False)),
        )
    )


def _failed(recipient_id: int, error: ProviderError, detail: str) -> Failed:
    return Failed(
        recipient_id=recipient_id,
        error_code=fit(Recipient, "error_code", error.code),
        detail=fit(Recipient, "error", detail),
    )
