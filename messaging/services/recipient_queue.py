"""The recipient rows as a queue, and the text each is sent with.

A batch is claimed by one statement (FOR UPDATE SKIP LOCKED on PostgreSQL) that sets a lease.
The lease is the record that a submit may be under way: a row whose lease ran out while still
`initial` had an outcome nobody learned, so it is marked `outcome_unknown` when taken again.
Rows past their expiry are expired here before they are claimed, and rows claimed but not sent
now (their provider's rate is held by other workers) are given back, the attempt not counted.

The text as sent: a segment message's rows are personalised when claimed (`recipients_render`,
stored on the row), and `outbound_for` turns a row into what a backend takes.
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from messaging.backends import OutboundSms
from messaging.models import Recipient, RecipientState
from messaging.personalise import member_of, member_text, recipient_text
from messaging.text import text_layout

from . import quota_parts, quota_usage, quotas
from .states import recipients_transition


def _due(now: datetime):
    return Recipient.objects.filter(state=RecipientState.INITIAL, due_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def recipients_claim(*, batch_size: int, now: datetime | None = None) -> list[Recipient]:
    now = now or timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        ids = list(
            _due(now)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .order_by("-priority", "due_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return []
        Recipient.objects.filter(id__in=ids).update(
            lease_token=token,
            lease_until=now + timedelta(seconds=settings.DISPATCH_LEASE_SECONDS),
            attempts=F("attempts") + 1,
            outcome_unknown=Case(When(lease_token__isnull=False, then=Value(True)), default=F("outcome_unknown")),
        )
    # By primary key: lease_token has no index, and a scan for it grows with the table.
    return list(
        Recipient.objects.filter(id__in=ids, lease_token=token)
        .select_related("member")
        .prefetch_related("message__request__api_key")
        .order_by("-priority", "id")
    )


def recipients_expire_due(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    ids = list(_due(now).filter(expires_at__isnull=False, expires_at__lte=now).values_list("id", flat=True)[:20000])
    return recipients_transition(
        recipient_ids=ids, to_state=RecipientState.EXPIRED, at=now, detail="expired before sending"
    )


def recipients_render(recipients: list[Recipient]) -> None:
    """Personalise the rows whose text is rendered at send time (a segment message's): what is
    checked against SMS_MAX_RENDERED_CHARS, throttled and sent is that text, and it is stored on
    the row, so that the key's parts used today count it from now on."""
    rendered = []
    for recipient in recipients:
        message = recipient.message
        if message.personalised and not recipient.content:
            recipient.content = member_text(message.content, member=member_of(recipient), phone=recipient.phone)
            if recipient.content and not quotas.rendered_too_long(recipient.content):
                rendered.append(recipient)  # one too long is rejected, not stored
    if not rendered:
        return
    table = connection.ops.quote_name(Recipient._meta.db_table)
    # The texts and their growth of the key's parts of the day in one transaction: a request's
    # exact count that sees the texts sees the growth booked too.
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ", ".join(["(%s::bigint, %s)"] * len(rendered))
            cursor.execute(
                f"UPDATE {table} AS r SET content = v.content FROM (VALUES {values}) AS v(id, content) "
                "WHERE r.id = v.id AND r.content = ''",
                [value for recipient in rendered for value in (recipient.pk, recipient.content)],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET content = %s WHERE id = %s AND content = ''",
                [(recipient.content, recipient.pk) for recipient in rendered],
            )
        # A text that takes more parts than its template grows the key's count of the day.
        quota_usage.usage_grow(
            (
                recipient.message.request.api_key_id,
                recipient.message.request.created_at,
                quota_parts.stored_text_parts(recipient.content) - recipient.message.parts,
            )
            for recipient in rendered
        )


def outbound_for(recipient: Recipient, *, sender: str = "") -> OutboundSms:
    message = recipient.message
    text = recipient_text(recipient)
    return OutboundSms(
        key=recipient.pk,
        phone=recipient.phone,
        text=text,
        channel=recipient.channel,
        sender=sender or settings.SMS_DEFAULT_SENDER,
        encoding=text_layout(text).encoding if text is not message.content else message.encoding,
        priority=recipient.priority,
        expires_at=recipient.expires_at,
    )


def recipient_parts(recipient: Recipient) -> int:
    if recipient.content and recipient.content != recipient.message.content:
        return text_layout(recipient.content).parts
    return recipient.message.parts or 1


def recipients_give_back(*, recipients: list[Recipient], due_at: datetime) -> int:
    """Release claimed rows unsent, due again at `due_at`, the attempt not counted."""
    if not recipients:
        return 0
    return Recipient.objects.filter(
        id__in=[r.pk for r in recipients], state=RecipientState.INITIAL, lease_token=recipients[0].lease_token
    ).update(due_at=due_at, lease_token=None, lease_until=None, attempts=F("attempts") - 1, updated_at=timezone.now())
