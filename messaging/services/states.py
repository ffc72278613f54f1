"""A recipient's legal changes of state (`ALLOWED`), and the one way every change but one is made:
`recipients_transition`, which checks, times and records it.

The exception is the busiest change, `initial` → `submitted`, made by dispatch for every batch
(`submit_records._submitted_record`). A batch is up to thousands of rows, each with its own
provider id, and `recipients_transition` would lock them, give them all the same values and need
a second write for the ids. So the batch is one bulk UPDATE that writes each row whole, with the
same guard expressed in SQL: the row must be in a state `sources_of(SUBMITTED)` lists (and still
under the batch's lease). It records a `RecipientEvent` per row, as `recipients_transition` does.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from messaging.models import FINAL_STATES, Recipient, RecipientEvent, RecipientState
from smsgateway.columns import fit

S = RecipientState
ALLOWED = {
    S.INITIAL: {S.SUBMITTED, S.REJECTED, S.CANCELLED, S.EXPIRED, S.NOT_ATTEMPTED},
    S.SUBMITTED: {S.DELIVERED, S.UNDELIVERED, S.REJECTED, S.EXPIRED},
    S.DELIVERED: set(),
    S.UNDELIVERED: set(),
    S.REJECTED: set(),
    S.CANCELLED: set(),
    S.EXPIRED: set(),
    S.NOT_ATTEMPTED: set(),
}


class IllegalTransition(ValueError):
    pass


def sources_of(state: str) -> list[str]:
    return [source for source, targets in ALLOWED.items() if state in targets]


def recipients_transition(
    *,
    recipient_ids: Iterable[int],
    to_state: str,
    at: datetime | None = None,
    error_code: str = "",
    detail: str = "",
    extra_filter: dict | None = None,
) -> int:
    """Move the rows that may legally go to `to_state`; returns how many moved."""
    at = at or timezone.now()
    sources = sources_of(to_state)
    if not sources:
        raise IllegalTransition(to_state)
    ids = list(recipient_ids)
    moved = 0
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        with transaction.atomic():
            candidates = Recipient.objects.filter(id__in=chunk, state__in=sources, **(extra_filter or {}))
            locked = list(candidates.select_for_update(skip_locked=False).values_list("id", "provider_message_id"))
            if not locked:
                continue
            changes = {"state": to_state, "updated_at": at, "lease_token": None, "lease_until": None}
            if to_state in FINAL_STATES:
                changes["final_at"] = at
            if error_code or detail:
                changes.update(
                    error_code=fit(Recipient, "error_code", error_code), error=fit(Recipient, "error", detail)
                )
            Recipient.objects.filter(id__in=[pk for pk, _ in locked]).update(**changes)
            RecipientEvent.objects.bulk_create(
                RecipientEvent(
                    recipient_id=pk,
                    state=to_state,
                    at=at,
                    provider_message_id=provider_id,
                    error_code=fit(RecipientEvent, "error_code", error_code),
                    detail=fit(RecipientEvent, "detail", detail),
                )
                for pk, provider_id in locked
            )
            moved += len(locked)
    return moved
