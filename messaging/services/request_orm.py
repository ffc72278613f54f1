"""A send request stored through the ORM, in one transaction: the path of a request with segment
messages (whose audiences are counted, not expanded, at the request) and of SQLite. A request
that lists its recipients on PostgreSQL is written by one statement instead
(`requests._store_listed`); both build their rows from `request_rows`, and
tests/test_api_store.py checks that they write the same."""

from django.conf import settings
from django.db import transaction

from audiences.criteria import CriteriaError
from audiences.segments import SegmentError
from messaging.errors import NO_ACTIVE_MEMBERS, ContractError
from messaging.models import Recipient, RecipientState, SmsMessage, SmsRequest
from messaging.text import text_layout

from . import quota_parts, quota_usage, quotas, wakeups
from .expansion import message_audience
from .request_rows import listed_members, listed_rows, message_fields, rendered_length_check, request_start


@transaction.atomic
def store_by_orm(
    *, specs, client, api_key, user, request_format, body_hash, idempotency_key, check_user_existence, locked=False
):
    """Store a request whole, or refuse it with nothing stored; returns the SmsRequest."""
    now, locked_used, request = request_start(
        client=client,
        api_key=api_key,
        user=user,
        request_format=request_format,
        body_hash=body_hash,
        idempotency_key=idempotency_key,
        check_user_existence=check_user_existence,
        locked=locked,
    )
    request = SmsRequest(**request)
    request.save(force_insert=True)
    by_id, by_mobile = listed_members([spec for spec in specs if not spec.by_segment], client=client, whole=True)
    messages = [SmsMessage(request=request, **message_fields(spec, text_layout(spec.content))) for spec in specs]
    SmsMessage.objects.bulk_create(messages)
    if not all(message.pk for message in messages):  # backends that return no ids
        messages = list(SmsMessage.objects.filter(request=request).order_by("position"))
    recipients, phones_by_message, parts_by_message = _listed_of(
        specs, messages, by_id, by_mobile, check_user_existence, now
    )
    # The request's cost, then the key's destination countries and daily quota, on what will
    # really be sent.
    needed, counted = _limits_check(api_key, specs, messages, phones_by_message, parts_by_message, now)
    # What the request adds to the day's exact count: each stored text as that count reads it, and
    # a counted audience at its template's parts until its texts are rendered.
    booked = sum(
        quota_parts.stored_text_parts(row.content, empty=row.message.parts)
        for row in recipients
        if row.state == RecipientState.INITIAL
    )
    booked += _audiences_expected(messages, counted, parts_by_message)
    Recipient.objects.bulk_create(recipients, batch_size=2000)
    quota_usage.quota_book(
        api_key=api_key,
        needed=needed,
        booked=booked,
        now=now,
        shard=quota_usage.usage_shard(api_key.daily_quota_parts) if api_key else 0,
        locked_used=locked_used,
    )

    expand = [m.pk for m in messages if not m.expansion_done]
    priority = any(m.priority for m in messages)
    transaction.on_commit(lambda: wakeups.request_accepted(expand_message_ids=expand, priority=priority))
    return request


def _listed_of(specs, messages, by_id, by_mobile, check_user_existence, now) -> tuple[list, dict, dict]:
    """The recipient rows of the listed messages, with each message's sendable phones and the
    parts of what they will get (a personalised text can take more parts than its template)."""
    recipients = []
    phones_by_message = {}
    parts_by_message = {}
    too_long = []
    for spec, message in zip(specs, messages, strict=True):
        if spec.by_segment:
            continue
        rows = _listed_recipients(spec, message, by_id, by_mobile, check_user_existence, now)
        sendable = [row for row in rows if row.state == RecipientState.INITIAL]
        if not sendable:
            raise ContractError(NO_ACTIVE_MEMBERS)
        phones_by_message[spec.position] = [row.phone for row in sendable]
        if spec.personalised:
            if any(quotas.rendered_too_long(row.content) for row in sendable):
                too_long.append(spec.position)
            parts_by_message[spec.position] = sum(text_layout(row.content or spec.content).parts for row in sendable)
        else:
            parts_by_message[spec.position] = message.parts * len(sendable)
        recipients.extend(rows)
    rendered_length_check(too_long)
    return recipients, phones_by_message, parts_by_message


def _limits_check(api_key, specs, messages, phones_by_message, parts_by_message, now) -> tuple[int, dict]:
    """The parts per request, the key's countries and its quota checked (the quota booked later,
    once the rows are stored); a personalised segment message's parts are its audience's texts
    counted in the database (into `parts_by_message`). Returns the parts needed and each counted
    audience's size."""
    audiences = _counted_audiences(api_key, specs, messages)
    sizes = quotas.audience_sizes(audiences) if audiences else {}
    for spec in specs:
        if spec.personalised and spec.position in audiences:
            audience = audiences[spec.position]
            parts_by_message[spec.position] = quota_parts.audience_rendered_parts(audience, spec.content)
    needed = quotas.request_parts(
        specs=specs, phones_by_message=phones_by_message, parts_by_message=parts_by_message, counted=sizes
    )
    quotas.request_parts_check(needed=needed)
    counted = quotas.quota_check(
        api_key=api_key,
        specs=specs,
        phones_by_message=phones_by_message,
        audiences=audiences,
        now=now,
        parts_by_message=parts_by_message,
        counted=sizes,
        book_later=True,
    )
    return needed, counted


def _audiences_expected(messages, counted, parts_by_message) -> int:
    """Record each counted audience's size as its message's expected total, and return what the
    audiences add to the day's count: each at its template's parts, or its rendered texts' when
    more."""
    booked = 0
    for message in messages:
        if message.position in counted:
            message.expected_total = counted[message.position]
            message.save(update_fields=["expected_total"])
            waiting = message.parts * message.expected_total
            booked += max(waiting, parts_by_message.get(message.position, waiting))
    return booked


def _counted_audiences(api_key, specs, messages) -> dict:
    """The members of each segment message, when there are limits to check them against: the
    parts a request may cost, or its key's quota or countries."""
    key_limits = api_key is not None and (api_key.daily_quota_parts or api_key.allowed_countries)
    if not (settings.SMS_MAX_PARTS_PER_REQUEST or key_limits):
        return {}
    audiences = {}
    for spec, message in zip(specs, messages, strict=True):
        if not spec.by_segment:
            continue
        try:
            audiences[spec.position] = message_audience(message)
        except (SegmentError, CriteriaError):
            continue  # checked when the request was read; expansion records it if it broke since
    return audiences


def _listed_recipients(spec, message, by_id, by_mobile, check_user_existence, now):
    """The recipient rows of a listed message (the ORM path), from the same rule as listed_rows."""
    return [
        Recipient(
            message=message,
            member_id=member_id,
            phone=phone,
            content=content,
            channel=spec.channel,
            state=RecipientState.INITIAL if reachable else RecipientState.NOT_ATTEMPTED,
            priority=spec.priority,
            due_at=spec.start_at,
            expires_at=spec.expires_at,
            final_at=None if reachable else now,
            error=error,
        )
        for member_id, phone, content, reachable, error in listed_rows(spec, by_id, by_mobile, check_user_existence)
    ]
