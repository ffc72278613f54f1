"""Recording what became of a batch sent to one provider: the writes that apply
`submit_outcomes.outcomes_classify`, each field of a row written once.

- Submitted rows: one UPDATE (`initial` → `submitted`, the provider ids by a VALUES join on
  PostgreSQL) and their `RecipientEvent`s. This is the one state change that does not go
  through `states.recipients_transition` (its docstring says why); its guard still takes the
  legal sources from `states.sources_of`.
- Retried rows: one UPDATE that makes them due again, their lease released.
- Rejected and expired rows: through `recipients_transition`, one call per row, as each carries
  its own error.

Then the voice fallback of rejected texts, and the receipts that overtook their submit.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from messaging.backends import SendOutcome
from messaging.models import PendingReceipt, Recipient, RecipientEvent, RecipientState

from .receipts import pending_receipts_match
from .states import recipients_transition, sources_of
from .submit_outcomes import Retry, Submitted, Verdicts, outcomes_classify
from .voice import recipients_fall_back_to_voice


@dataclass
class DispatchReport:
    submitted: int = 0
    rejected: int = 0
    retried: int = 0
    expired: int = 0
    more: bool = False


def outcomes_record(*, claimed: list[Recipient], outcomes: list[SendOutcome], provider: str) -> DispatchReport:
    """Classify the outcomes of `claimed` (rows of one lease) and write them. A row with no
    outcome is left leased: the lease runs out and the row is retried as outcome unknown."""
    now = timezone.now()
    verdicts = outcomes_classify(claimed=claimed, outcomes=outcomes, now=now)
    token = claimed[0].lease_token if claimed else None
    if verdicts.submitted or verdicts.retried:
        with transaction.atomic():
            if verdicts.submitted:
                _submitted_record(submitted=verdicts.submitted, token=token, provider=provider, now=now)
            if verdicts.retried:
                _retried_record(retried=verdicts.retried, token=token, provider=provider, now=now)
    rejected_ids = _finals_record(verdicts, now=now)
    if rejected_ids:
        recipients_fall_back_to_voice(recipient_ids=rejected_ids)
    if verdicts.submitted and PendingReceipt.objects.exists():
        pending_receipts_match(provider_refs=[row.provider_ref for row in verdicts.submitted])
    return DispatchReport(
        submitted=len(verdicts.submitted),
        rejected=len(verdicts.rejected),
        retried=len(verdicts.retried),
        expired=len(verdicts.expired),
    )


def _submitted_record(*, submitted: list[Submitted], token, provider: str, now: datetime) -> None:
    """`initial` → `submitted` for a whole batch in one statement, guarded in SQL as
    `recipients_transition` guards in Python: only rows in a legal source state (and still
    under this batch's lease) move. bulk_update's CASE per row and field took seconds for 500."""
    _leased_rows_update(
        columns=("provider_message_id", "provider_ref"),
        rows=[(row.recipient_id, row.provider_message_id, row.provider_ref) for row in submitted],
        shared={
            "state": RecipientState.SUBMITTED,
            "provider": provider,
            "submitted_at": now,
            "lease_token": None,
            "lease_until": None,
            "error_code": "",
            "error": "",
            "updated_at": now,
        },
        states=sources_of(RecipientState.SUBMITTED),
        token=token,
    )
    RecipientEvent.objects.bulk_create(
        (
            RecipientEvent(
                recipient_id=row.recipient_id,
                state=RecipientState.SUBMITTED,
                at=now,
                provider_message_id=row.provider_message_id,
            )
            for row in submitted
        ),
        batch_size=1000,
    )


def _retried_record(*, retried: list[Retry], token, provider: str, now: datetime) -> None:
    """Due again at their backoff, the lease released; they stay `initial` (no change of state)."""
    _leased_rows_update(
        columns=("due_at", "error_code", "error", "outcome_unknown"),
        rows=[(row.recipient_id, row.due_at, row.error_code, row.error, row.outcome_unknown) for row in retried],
        shared={"lease_token": None, "lease_until": None, "provider": provider, "updated_at": now},
        states=[RecipientState.INITIAL],
        token=token,
    )


def _finals_record(verdicts: Verdicts, *, now: datetime) -> list[int]:
    """Rejected, then expired rows, each with its own error; returns the rejected rows that moved."""
    rejected_ids = []
    for row in verdicts.rejected:
        moved = recipients_transition(
            recipient_ids=[row.recipient_id],
            to_state=RecipientState.REJECTED,
            at=now,
            error_code=row.error_code,
            detail=row.detail,
        )
        rejected_ids += [row.recipient_id] * moved
    for row in verdicts.expired:
        recipients_transition(
            recipient_ids=[row.recipient_id],
            to_state=RecipientState.EXPIRED,
            at=now,
            error_code=row.error_code,
            detail=row.detail,
        )
    return rejected_ids


def _leased_rows_update(*, columns: tuple[str, ...], rows: list[tuple], shared: dict, states: list[str], token) -> None:
    """One UPDATE of the rows of one lease that are still in `states`: each row's own values of
    `columns` (`rows` holds the id, then those values) and the values `shared` by every row.
    PostgreSQL joins a VALUES list; SQLite runs the statement once per row. Values are prepared
    by their model fields, as the ORM would."""
    meta, quote = Recipient._meta, connection.ops.quote_name
    own = [meta.get_field(name) for name in columns]
    common = [meta.get_field(name) for name in shared]
    shared_params = [meta.get_field(name).get_db_prep_value(value, connection) for name, value in shared.items()]
    guard = f"state IN ({', '.join(['%s'] * len(states))}) AND lease_token = %s"
    guard_params = [*states, meta.get_field("lease_token").get_db_prep_value(token, connection)]
    prepared = [
        (pk, *(field.get_db_prep_value(value, connection) for field, value in zip(own, values, strict=True)))
        for pk, *values in rows
    ]
    table = quote(meta.db_table)
    common_sets = [f"{quote(field.column)} = %s" for field in common]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            row_marks = ", ".join(["%s::bigint", *(f"%s::{field.db_type(connection)}" for field in own)])
            own_sets = [f"{quote(field.column)} = v.{quote(field.column)}" for field in own]
            cursor.execute(
                f"UPDATE {table} AS r SET {', '.join(own_sets + common_sets)} "
                f"FROM (VALUES {', '.join([f'({row_marks})'] * len(prepared))}) "
                f"AS v(id, {', '.join(quote(field.column) for field in own)}) "
                f"WHERE r.id = v.id AND {guard}",
                [*shared_params, *(value for row in prepared for value in row), *guard_params],
            )
        else:
            own_sets = [f"{quote(field.column)} = %s" for field in own]
            cursor.executemany(
                f"UPDATE {table} SET {', '.join(own_sets + common_sets)} WHERE id = %s AND {guard}",
                [[*values, *shared_params, pk, *guard_params] for pk, *values in prepared],
            )
