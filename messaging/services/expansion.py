"""Turning a segment message into recipient rows, by the database, in chunks of member ids.

Each chunk is one INSERT ... SELECT ... ON CONFLICT DO NOTHING over a range of member ids, so a
crash between chunks resumes where the cursor stands without duplicates, and dispatch starts on
the first chunk while later ones are still being written.
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from audiences.criteria import parse_criteria
from audiences.models import Member, Segment
from audiences.segments import criteria_q
from audiences.selectors import members_reachable
from messaging.models import Recipient, SmsMessage


def message_audience(message: SmsMessage):
    """The members a segment message goes to, as a queryset (not evaluated here)."""
    trees = [parse_criteria(text) for text in message.criteria]
    segment_ids = set()
    for tree in trees:
        segment_ids |= _ids(tree)
    segments = {s.id: s for s in Segment.objects.prefetch_related("conditions").filter(id__in=segment_ids)}
    combined = Q(pk__in=[])
    for tree in trees:
        combined |= criteria_q(tree, segments)
    return members_reachable(channel=message.channel).filter(combined)


def _ids(tree):
    if tree[0] == "segment":
        return {tree[1]}
    if tree[0] == "not":
        return _ids(tree[1])
    return _ids(tree[1]) | _ids(tree[2])


def message_expand_chunk(*, message_id: int, chunk_size: int | None = None) -> bool:
    """Write the next chunk of recipients; returns True when the message is fully expanded."""
    chunk_size = chunk_size or settings.EXPANSION_CHUNK_SIZE
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().get(pk=message_id)
        if message.expansion_done:
            return True
        audience = message_audience(message)
        if message.expected_total is None:
            message.expected_total = audience.count()
        top = Member.objects.aggregate(top=Max("id"))["top"] or 0
        low = message.expansion_cursor
        high = low + chunk_size
        inserted = _insert_recipients(message, audience.filter(id__gt=low, id__lte=high))
        message.expanded_count += inserted
        message.expansion_cursor = high
        message.expansion_done = high >= top
        message.save(update_fields=["expected_total", "expanded_count", "expansion_cursor", "expansion_done"])
    return message.expansion_done


def _insert_recipients(message: SmsMessage, members) -> int:
    now = timezone.now()
    select = members.values("id", "mobile").order_by()
    sql, params = select.query.sql_with_params()
    recipient_table = Recipient._meta.db_table
    statement = f"""
        INSERT INTO {recipient_table} (
            message_id, member_id, phone, content, channel, state, priority, due_at, expires_at,
            attempts, outcome_unknown, provider, provider_message_id, error_code, error,
            created_at, updated_at
        )
        SELECT %s, audience.id, audience.mobile, '', %s, 'initial', %s, %s, %s,
               0, %s, '', '', '', '', %s, %s
        FROM ({sql}) AS audience
        ON CONFLICT (message_id, phone) WHERE resend_of_id IS NULL DO NOTHING
    """
    moment = connection.ops.adapt_datetimefield_value
    head = [
        message.pk,
        message.channel,
        message.priority,
        moment(message.start_at),
        moment(message.expires_at),
        False,
        moment(now),
        moment(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, head + list(params))
        return max(cursor.rowcount, 0)
