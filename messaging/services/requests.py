"""Accepting a send request: stored whole, or refused with nothing stored, and woken up after
commit. A request that lists its recipients, on PostgreSQL, is written by one statement (here);
one with segment messages, or on SQLite, through the ORM in one transaction (`request_orm`)."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from messaging.errors import IDEMPOTENCY_CONFLICT, NO_ACTIVE_MEMBERS, ContractError
from messaging.models import SmsRequest
from messaging.specs import MessageSpec
from messaging.text import text_layout
from smsgateway.prepared import prepared_cursor

from . import quota_parts, quota_usage, quotas, store_statement, wakeups
from .request_orm import store_by_orm
from .request_rows import listed_members, listed_rows, message_fields, rendered_length_check, request_start


@dataclass(frozen=True)
class SubmitResult:
    request_id: int
    replayed: bool = False


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def sms_request_find_replay(*, client: str, idempotency_key: str | None, body_hash: str) -> SubmitResult | None:
    """The first answer to a repeated Idempotency-Key, or a 409 when the body differs."""
    if not idempotency_key:
        return None
    since = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_WINDOW_HOURS)
    earlier = (
        SmsRequest.objects.filter(client=client, idempotency_key=idempotency_key, created_at__gte=since)
        .only("id", "body_hash")
        .first()
    )
    if earlier is None:
        return None
    if earlier.body_hash != body_hash:
        raise ContractError(IDEMPOTENCY_CONFLICT, status_code=409)
    return SubmitResult(request_id=earlier.id, replayed=True)


def sms_request_submit(
    *,
    specs: list[MessageSpec],
    client: str,
    api_key=None,
    user=None,
    request_format: str,
    body_hash: str,
    idempotency_key: str | None = None,
    check_user_existence: bool = True,
) -> SubmitResult:
    quotas.number_types_check(api_key=api_key, specs=specs)
    store = (
        _store_listed if connection.vendor == "postgresql" and not any(s.by_segment for s in specs) else store_by_orm
    )
    locked = False
    for _ in range(4):
        try:
            request = store(
                specs=specs,
                client=client,
                api_key=api_key,
                user=user,
                request_format=request_format,
                body_hash=body_hash,
                idempotency_key=idempotency_key,
                check_user_existence=check_user_existence,
                locked=locked,
            )
            return SubmitResult(request_id=request if isinstance(request, int) else request.id)
        except quota_usage.QuotaNeedsLock:
            locked = True  # stored again, counted exactly with the key's day locked
        except IntegrityError:
            # Either the same Idempotency-Key raced us, or (rarely) two nodes drew one id.
            replay = sms_request_find_replay(client=client, idempotency_key=idempotency_key, body_hash=body_hash)
            if replay is not None:
                return replay
    raise IntegrityError("could not store the request")


def _store_listed(*, locked=False, **fields):
    """store_by_orm for a request that lists its recipients, on PostgreSQL: the same checks on the same
    rows, then the request, its messages, their recipients and the key's parts of the day written
    by one statement (recipients as column arrays, no model instance each); returns the id.

    That statement is the request's whole write: with the quota checked inside it (usage_fit), it
    writes everything or nothing by itself, so it needs no transaction of its own and the request
    costs no BEGIN and COMMIT round trips. A request stored with the key's day locked (the quota
    counted exactly, a rare case) is one transaction; so is a call inside an outer one (a savepoint,
    which an Idempotency-Key race rolls back)."""
    if locked or connection.in_atomic_block:
        with transaction.atomic():
            return _listed_stored(locked=locked, **fields)
    return _listed_stored(locked=locked, **fields)


def _listed_stored(
    *, specs, client, api_key, user, request_format, body_hash, idempotency_key, check_user_existence, locked
):
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
    # The texts need the whole member; otherwise only what reachability reads, no model instance each.
    by_id, by_mobile = listed_members(specs, client=client, whole=any(spec.personalised for spec in specs))
    messages, rows_of, phones_by_message, parts_by_message, booked = _listed_of(
        specs, by_id, by_mobile, check_user_existence
    )
    needed = quotas.request_parts(specs=specs, phones_by_message=phones_by_message, parts_by_message=parts_by_message)
    quotas.request_parts_check(needed=needed)
    quotas.quota_check(
        api_key=api_key,
        specs=specs,
        phones_by_message=phones_by_message,
        now=now,
        parts_by_message=parts_by_message,
        book_later=True,
    )
    shard = quota_usage.usage_shard(api_key.daily_quota_parts) if api_key else 0
    fit = None
    if api_key is not None and locked_used is None:
        fit = quota_usage.usage_fit(api_key=api_key, needed=needed, booked=booked, now=now, shard=shard)
    if fit is not None:
        booking, usage_params = "fit", list(fit)
    elif api_key is not None:
        booking, usage_params = "upsert", [api_key.pk, quota_parts.day_start(now).date(), shard, booked]
    else:
        booking, usage_params = "", []
    sql, params = store_statement.insert_statement(
        request, messages, rows_of, now=now, booking=booking, usage=usage_params
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        usage = cursor.fetchone() if api_key is not None else None
    if fit is not None:
        if usage is None:  # nothing was written: the shard is not verified or the request does not fit
            raise quota_usage.QuotaNeedsLock
    elif usage is not None:
        quota_usage.quota_book(
            api_key=api_key,
            needed=needed,
            booked=booked,
            now=now,
            shard=shard,
            usage=tuple(usage),
            locked_used=locked_used,
        )
    priority = any(m["priority"] for m in messages)
    transaction.on_commit(lambda: wakeups.request_accepted(expand_message_ids=[], priority=priority))
    return request["id"]


def _listed_of(specs, by_id, by_mobile, check_user_existence) -> tuple[list, dict, dict, dict, int]:
    """The field values of each message and the rows of its recipients (as listed_rows gives them),
    with each message's sendable phones, the parts of what they will get, and what the request
    adds to the day's exact count (`booked`)."""
    messages, rows_of = [], {}
    phones_by_message, parts_by_message, too_long = {}, {}, []
    booked = 0
    for spec in specs:
        layout = text_layout(spec.content)
        messages.append(message_fields(spec, layout))
        rows = rows_of[spec.position] = listed_rows(spec, by_id, by_mobile, check_user_existence)
        sendable = [row for row in rows if row[3]]
        if not sendable:
            raise ContractError(NO_ACTIVE_MEMBERS)
        phones_by_message[spec.position] = [row[1] for row in sendable]
        if spec.personalised:
            if any(quotas.rendered_too_long(row[2]) for row in sendable):
                too_long.append(spec.position)
            parts_by_message[spec.position] = sum(text_layout(row[2] or spec.content).parts for row in sendable)
            booked += sum(quota_parts.stored_text_parts(row[2], empty=layout.parts) for row in sendable)
        else:
            parts_by_message[spec.position] = layout.parts * len(sendable)
            booked += layout.parts * len(sendable)
    rendered_length_check(too_long)
    return messages, rows_of, phones_by_message, parts_by_message, booked
