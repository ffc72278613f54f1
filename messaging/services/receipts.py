"""Delivery receipts: matched to their recipient whatever the form of the provider's id.

SMSCs give the id of a submit in one form and the receipt's id in another: hex in one, decimal
in the other, leading zeros dropped, upper or lower case. Each recipient keeps its id in one
canonical form (`provider_ref`); a receipt's id is tried in that form first, then converted
between hex and decimal. A receipt that matches nothing yet (it overtook the record of its
submit) is kept as a PendingReceipt and matched again when submits are recorded and by the
sweeper, for RECEIPT_HOLD. Only a recipient still `submitted` takes a receipt: a form that names
rows already final (or still being sent) is passed over, and a receipt no form places is held.
"""

import logging
import string
from collections import defaultdict
from datetime import datetime, timedelta

from django.utils import timezone

from messaging.backends import Receipt
from messaging.models import PendingReceipt, Recipient, RecipientState
from smsgateway.columns import fit

from .states import recipients_transition
from .voice import recipients_fall_back_to_voice

logger = logging.getLogger(__name__)

RECEIPT_HOLD = timedelta(hours=1)
_HEX = set(string.hexdigits)


def provider_ref_of(provider_message_id: str) -> str:
    """The canonical form of a provider's message id: trimmed, lower case, no leading zeros."""
    text = (provider_message_id or "").strip().lower()
    if not text:
        return ""
    return text.lstrip("0") or "0"


def receipt_refs(provider_message_id: str) -> list[str]:
    """The canonical forms a receipt's id may stand for, the literal one first."""
    literal = provider_ref_of(provider_message_id)
    if not literal:
        return []
    refs = [literal]
    if literal.isascii() and literal.isdigit() and len(literal) <= 30:
        refs.append(provider_ref_of(format(int(literal), "x")))
    if set(literal) <= _HEX and len(literal) <= 30:
        refs.append(provider_ref_of(str(int(literal, 16))))
    seen = []
    for ref in refs:
        if ref not in seen:
            seen.append(ref)
    return seen


def recipients_with_refs(refs: list[str]):
    """The recipients whose provider id has one of these canonical forms. The index holds only
    rows with a ref: the exclusion says so to the planner, which cannot see it through an IN list
    of more than 100 values."""
    return Recipient.objects.filter(provider_ref__in=refs).exclude(provider_ref="")


def _matcher(receipts: list[Receipt], provider: str):
    """One query for a whole batch of receipts; returns a function from a receipt to the ids of
    the recipients it belongs to, or None when nothing matches yet."""
    refs = {ref for receipt in receipts for ref in receipt_refs(receipt.provider_message_id)}
    names = {receipt.provider or provider for receipt in receipts}
    found: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    ordered = sorted(refs)
    for start in range(0, len(ordered), 2000):
        rows = recipients_with_refs(ordered[start : start + 2000])
        if "" not in names:
            rows = rows.filter(provider__in=names)
        for pk, ref, state, name in rows.values_list("id", "provider_ref", "state", "provider"):
            found[ref].append((pk, state, name))

    def match(receipt: Receipt) -> list[int] | None:
        name = receipt.provider or provider
        for ref in receipt_refs(receipt.provider_message_id):  # the literal form first
            waiting = [
                pk
                for pk, state, row_name in found.get(ref, ())
                if state == RecipientState.SUBMITTED and (not name or row_name == name)
            ]
            if waiting:
                return waiting
        # Nothing waits for this receipt yet. Its message may be sent but not recorded, and a
        # converted form may name another message that already has its receipt (an id such as
        # 400 is hex for one message and decimal for another): hold it rather than spend it there.
        return None

    return match


def _apply(groups: dict[tuple[bool, str, str], list[int]], at: datetime) -> int:
    moved = 0
    undelivered: list[int] = []
    for (delivered, error_code, status), ids in groups.items():
        state = RecipientState.DELIVERED if delivered else RecipientState.UNDELIVERED
        count = recipients_transition(
            recipient_ids=ids,
            to_state=state,
            at=at,
            error_code=error_code,
            detail=f"receipt: {status}" if status else "receipt",
        )
        moved += count
        if not delivered and count:
            undelivered.extend(ids)
    if undelivered:
        recipients_fall_back_to_voice(recipient_ids=undelivered)
    return moved


def receipts_record(*, receipts: list[Receipt], provider: str = "") -> int:
    """Apply receipts to their recipients; those that match nothing yet are held. Returns how many moved.

    Receipts come here two ways: from a kind's webhook view (messaging/providers/<kind>/callbacks.py),
    and from a backend's own connection (SMPP deliver_sm) through its `ReceiptSink`
    (messaging/services/providers/sinks.py)."""
    now = timezone.now()
    groups: dict[tuple[bool, str, str], list[int]] = defaultdict(list)
    held = []
    match = _matcher(receipts, provider)
    for receipt in receipts:
        name = receipt.provider or provider
        ids = match(receipt)
        if ids is None:
            held.append(
                PendingReceipt(
                    provider=name,
                    provider_ref=provider_ref_of(receipt.provider_message_id),
                    provider_message_id=fit(PendingReceipt, "provider_message_id", receipt.provider_message_id),
                    delivered=receipt.delivered,
                    status=fit(PendingReceipt, "status", receipt.status),
                    error_code=fit(PendingReceipt, "error_code", receipt.error_code),
                    reported_at=receipt.at,
                )
            )
            continue
        groups[(receipt.delivered, receipt.error_code, receipt.status)].extend(ids)
    moved = _apply(groups, now) if groups else 0
    if held:
        PendingReceipt.objects.bulk_create(held)
        # The submit may have been recorded meanwhile; recording a submit looks for held
        # receipts after it commits, and this looks for the submit after the hold commits.
        moved += pending_receipts_match(provider_refs=[receipt.provider_ref for receipt in held])
    return moved


def pending_receipts_match(*, provider_refs: list[str] | None = None) -> int:
    """Try the held receipts again (those of the given refs, or all); drop those held too long."""
    now = timezone.now()
    PendingReceipt.objects.filter(received_at__lt=now - RECEIPT_HOLD).delete()
    pending = PendingReceipt.objects.all()
    if provider_refs is not None:
        if not provider_refs:
            return 0
        candidates = set()
        for ref in provider_refs:
            candidates.update(receipt_refs(ref))
        pending = pending.filter(provider_ref__in=candidates)
    waiting = list(pending.order_by("id")[:5000])
    receipts = [
        Receipt(
            provider_message_id=held.provider_message_id,
            delivered=held.delivered,
            status=held.status,
            error_code=held.error_code,
            provider=held.provider,
            at=held.reported_at,
        )
        for held in waiting
    ]
    match = _matcher(receipts, "")
    groups: dict[tuple[bool, str, str], list[int]] = defaultdict(list)
    applied = []
    for held, receipt in zip(waiting, receipts, strict=True):
        ids = match(receipt)
        if ids is None:
            continue
        applied.append(held.pk)
        groups[(held.delivered, held.error_code, held.status)].extend(ids)
    if not applied:
        return 0
    # Two matchers may take the same held receipt: the transition moves each recipient once.
    PendingReceipt.objects.filter(pk__in=applied).delete()
    return _apply(groups, now)
