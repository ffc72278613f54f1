"""Turning a segment message into recipient rows, by the database, in chunks of member ids.

Each chunk is one INSERT ... SELECT ... ON CONFLICT DO NOTHING over a range of member ids, written
in the same transaction as the cursor that records it, so a crash between or inside chunks
resumes where the cursor stands without duplicates, and dispatch starts on the first chunk while
later ones are still being written. Only active members subscribed to the message's channel are
taken, as they stand when their chunk is written; personalisation is rendered at send time from
the member row, so no chunk holds more than ids in memory.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from audiences.complexity import (
    criteria_size,
    criteria_size_problem,
    evaluation_fails_for_good,
    evaluation_failure_text,
    plan_size,
)
from audiences.criteria import CriteriaError, criteria_segment_ids, parse_criteria
from audiences.models import AudienceAttribute, Member, Segment
from audiences.segments import SegmentError, criteria_plan_q, segment_plan, today_local
from audiences.selectors import audience_owner_of_client, members_reachable
from messaging.models import Recipient, SmsMessage
from smsgateway.columns import fit

logger = logging.getLogger(__name__)


def message_audience(message: SmsMessage):
    """The members a segment message goes to, as a queryset (not evaluated here): of those its
    sender reaches, the gateway's shared audience and a partner's own members (a gateway user's
    request reaches every member).

    Raises SegmentError or CriteriaError when a criteria no longer resolves (a segment deleted
    or broken since the request was accepted)."""
    trees = [parse_criteria(text) for text in message.criteria]
    segment_ids = set()
    for tree in trees:
        segment_ids |= criteria_segment_ids(tree)
    segments = {s.id: s for s in Segment.objects.prefetch_related("conditions").filter(id__in=segment_ids)}
    missing = segment_ids - set(segments)
    if missing:
        raise SegmentError([f"segment {', '.join(map(str, sorted(missing)))} no longer exists"])
    attributes = {a.name: a for a in AudienceAttribute.objects.all()}
    today = today_local()
    plans = {sid: segment_plan(s, attributes=attributes, today=today) for sid, s in segments.items()}
    # The segments may have grown since the request was accepted within the bounds.
    sizes = {sid: plan_size(plan) for sid, plan in plans.items()}
    conditions = 0
    for tree in trees:
        size = criteria_size(tree, sizes)
        problem = criteria_size_problem(size, conditions_before=conditions)
        if problem:
            raise SegmentError([problem])
        conditions += size.conditions
    combined = Q(pk__in=[])
    for tree in trees:
        combined |= criteria_plan_q(tree, plans)
    members = members_reachable(channel=message.channel)
    owner = audience_owner_of_client(message.request.client)
    if owner is not None:
        members = members.filter(owner__in=("", owner))
    return members.filter(combined)


def _chunk_end(low: int, chunk_size: int) -> tuple[int, bool]:
    """The last member id of the chunk after `low`, and whether it is the last chunk."""
    ids = Member.objects.filter(id__gt=low).order_by("id").values_list("id", flat=True)
    end = ids[chunk_size - 1 : chunk_size].first()
    if end is not None:
        return end, False
    return Member.objects.aggregate(top=Max("id"))["top"] or low, True


def message_expand_chunk(*, message_id: int, chunk_size: int | None = None) -> bool:
    """Write the next chunk of recipients; returns True when the message is fully expanded, or
    given up.

    Each try is counted before it runs and the count is cleared when its chunk is written, so a
    try that raised, or whose worker died, stays counted. A failure that retrying cannot fix (a
    criteria that no longer resolves or cannot be compiled, a query the database refuses) gives
    the expansion up at once; any other is raised, for the sweep to try again, and gives it up
    once EXPANSION_MAX_ATTEMPTS tries have failed. Recipients already written are still sent.
    """
    chunk_size = chunk_size or settings.EXPANSION_CHUNK_SIZE
    if not _expansion_try_begin(message_id):
        return True
    try:
        with transaction.atomic():
            message = SmsMessage.objects.select_for_update().get(pk=message_id)
            if message.expansion_done:
                return True
            audience = message_audience(message)
            if message.expected_total is None:
                message.expected_total = audience.count()
            low = message.expansion_cursor
            high, last = _chunk_end(low, chunk_size)
            inserted = _insert_recipients(message, audience.filter(id__gt=low, id__lte=high)) if high > low else 0
            message.expanded_count += inserted
            message.expansion_cursor = max(high, low)
            message.expansion_done = last
            message.expansion_attempts = 0
            message.expansion_error = ""
            if last:
                message.expected_total = message.expanded_count
                if message.expanded_count == 0:
                    logger.warning(
                        "message %s matched no active member subscribed to %s: nothing to send",
                        message_id,
                        message.channel,
                    )
            message.save(
                update_fields=[
                    "expected_total",
                    "expanded_count",
                    "expansion_cursor",
                    "expansion_done",
                    "expansion_attempts",
                    "expansion_error",
                ]
            )
    except (SegmentError, CriteriaError) as error:
        message_expansion_give_up(message_id=message_id, reason=str(error))
        return True
    except Exception as error:
        if not evaluation_fails_for_good(error):
            _expansion_try_failed(message_id, error)
            raise
        message_expansion_give_up(message_id=message_id, reason=evaluation_failure_text(error))
        return True
    return message.expansion_done


def _expansion_try_begin(message_id: int) -> bool:
    """Count one more try; False when there is nothing to try (done, or given up now)."""
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().get(pk=message_id)
        if message.expansion_done:
            return False
        if message.expansion_attempts >= settings.EXPANSION_MAX_ATTEMPTS:
            last = f"; the last: {message.expansion_error}" if message.expansion_error else ""
            _give_up(message, f"{message.expansion_attempts} tries failed{last}")
            return False
        message.expansion_attempts += 1
        message.save(update_fields=["expansion_attempts"])
    return True


def _expansion_try_failed(message_id: int, error: BaseException) -> None:
    """Keep why the last try failed, for the give-up to say; the store may be what failed."""
    logger.warning("expansion of message %s failed, to be tried again: %s", message_id, error)
    try:
        SmsMessage.objects.filter(pk=message_id, expansion_done=False).update(
            expansion_error=fit(SmsMessage, "expansion_error", evaluation_failure_text(error))
        )
    except Exception:
        logger.warning("could not record the failure of message %s", message_id, exc_info=True)


def message_expansion_give_up(*, message_id: int, reason: str) -> None:
    """Stop expanding a message for good: what was written stays and is sent, the message is
    final with what it holds, and its error says why."""
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().get(pk=message_id)
        if not message.expansion_done:
            _give_up(message, reason)


def _give_up(message: SmsMessage, reason: str) -> None:
    logger.error("message %s cannot be expanded, given up: %s", message.pk, reason)
    message.expected_total = message.expanded_count
    message.expansion_done = True
    message.expansion_error = fit(SmsMessage, "expansion_error", reason)
    message.save(update_fields=["expected_total", "expansion_done", "expansion_error"])


def message_expand(*, message_id: int, chunk_size: int | None = None) -> int:
    """Every remaining chunk, one after the other (as the worker's task chain does); the chunks run."""
    chunks = 0
    while True:
        chunks += 1
        if message_expand_chunk(message_id=message_id, chunk_size=chunk_size):
            return chunks


def _insert_recipients(message: SmsMessage, members) -> int:
    now = timezone.now()
    select = members.values("id", "mobile").order_by()
    try:
        sql, params = select.query.sql_with_params()
    except EmptyResultSet:  # criteria that can match nobody, such as NOT "All Users"
        return 0
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
        WHERE TRUE -- SQLite parses ON CONFLICT after a bare FROM as a join
        ON CONFLICT (message_id, phone) WHERE resend_of_id IS NULL DO NOTHING
    """
    moment = connection.ops.adapt_datetimefield_value
    head: list[Any] = [
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
