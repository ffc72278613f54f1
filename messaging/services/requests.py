"""Accepting a send request: stored whole in one transaction, woken up after commit."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audiences.criteria import CriteriaError
from audiences.models import Member
from audiences.segments import SegmentError
from audiences.selectors import (
    audience_owner_of_client,
    member_facts,
    member_reachable,
    members_by_ids,
    members_by_mobiles,
)
from messaging.errors import IDEMPOTENCY_CONFLICT, NO_ACTIVE_MEMBERS, ContractError, Problem, invalid_format
from messaging.ids import next_request_id
from messaging.models import Recipient, RecipientState, SmsMessage, SmsRequest
from messaging.personalise import member_text
from messaging.specs import MessageSpec
from messaging.text import text_layout
from smsgateway.prepared import prepared_cursor

from . import quota_parts, quota_usage, quotas, store_statement, wakeups
from .expansion import message_audience


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
    store = _store_listed if connection.vendor == "postgresql" and not any(s.by_segment for s in specs) else _store
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


@transaction.atomic
def _store(
    *, specs, client, api_key, user, request_format, body_hash, idempotency_key, check_user_existence, locked=False
):
    now, locked_used, request = _request_start(
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
    by_id, by_mobile = _listed_members([spec for spec in specs if not spec.by_segment], client=client, whole=True)
    messages = [SmsMessage(request=request, **_message_fields(spec, text_layout(spec.content))) for spec in specs]
    SmsMessage.objects.bulk_create(messages)
    if not all(message.pk for message in messages):  # backends that return no ids
        messages = list(SmsMessage.objects.filter(request=request).order_by("position"))
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
        # What each recipient will get: a personalised text can take more parts than its template.
        if spec.personalised:
            if any(quotas.rendered_too_long(row.content) for row in sendable):
                too_long.append(spec.position)
            parts_by_message[spec.position] = sum(text_layout(row.content or spec.content).parts for row in sendable)
        else:
            parts_by_message[spec.position] = message.parts * len(sendable)
        recipients.extend(rows)
    if too_long:
        limit = settings.SMS_MAX_RENDERED_CHARS
        raise invalid_format([Problem(quotas.RENDERED_TOO_LONG.format(limit=limit), n) for n in too_long])
    # The request's cost, then the key's destination countries and daily quota, on what will
    # really be sent.
    audiences = _counted_audiences(api_key, specs, messages)
    sizes = quotas.audience_sizes(audiences) if audiences else {}
    for spec in specs:
        if spec.personalised and spec.position in audiences:
            parts_by_message[spec.position] = quota_parts.audience_rendered_parts(
                audiences[spec.position], spec.content
            )
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
    # What the request adds to the day's exact count: each stored text as that count reads it, and
    # a counted audience at its template's parts until its texts are rendered.
    booked = sum(
        quota_parts.stored_text_parts(row.content, empty=row.message.parts)
        for row in recipients
        if row.state == RecipientState.INITIAL
    )
    for message in messages:
        if message.position in counted:
            message.expected_total = counted[message.position]
            message.save(update_fields=["expected_total"])
            waiting = message.parts * message.expected_total
            booked += max(waiting, parts_by_message.get(message.position, waiting))
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


def _store_listed(*, locked=False, **fields):
    """_store for a request that lists its recipients, on PostgreSQL: the same checks on the same
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
    now, locked_used, request = _request_start(
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
    by_id, by_mobile = _listed_members(specs, client=client, whole=any(spec.personalised for spec in specs))
    messages, rows_of = [], {}
    phones_by_message, parts_by_message, too_long = {}, {}, []
    booked = 0
    for spec in specs:
        layout = text_layout(spec.content)
        messages.append(_message_fields(spec, layout))
        rows = rows_of[spec.position] = _listed_rows(spec, by_id, by_mobile, check_user_existence)
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
    if too_long:
        limit = settings.SMS_MAX_RENDERED_CHARS
        raise invalid_format([Problem(quotas.RENDERED_TOO_LONG.format(limit=limit), n) for n in too_long])
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


def _request_start(*, locked: bool, **request_fields) -> tuple:
    """What both store paths do first: the time, the key's day locked when asked (a request that
    did not fit its booking), an expired Idempotency-Key released, and the request's field values."""
    now = timezone.now()
    locked_used = quota_usage.quota_lock(api_key=request_fields["api_key"], now=now) if locked else None
    _idempotency_key_release(
        client=request_fields["client"], idempotency_key=request_fields["idempotency_key"], now=now
    )
    return now, locked_used, _request_fields(**request_fields)


def _listed_members(specs, *, client: str, whole: bool) -> tuple[dict, dict]:
    """The members the listed recipients name, by id and by mobile. A partner reaches its own
    members and the shared audience; another partner's member is a stranger to it (by id: not
    found; by mobile: a number that is no member of its audience). `whole` loads each member for
    personalisation; else only the facts reachability reads."""
    member_ids = [r.member_id for s in specs for r in s.recipients if r.member_id is not None]
    mobiles = [r.mobile for s in specs for r in s.recipients if r.mobile]
    caller = audience_owner_of_client(client)
    if whole:
        by_id = members_by_ids(ids=member_ids, caller=caller) if member_ids else {}
        by_mobile = members_by_mobiles(mobiles=mobiles, caller=caller) if mobiles else {}
        return by_id, by_mobile
    facts = member_facts(caller=caller, ids=member_ids, mobiles=mobiles)
    wanted_ids, wanted_mobiles = set(member_ids), set(mobiles)
    return (
        {m.pk: m for m in facts if m.pk in wanted_ids},
        {m.mobile: m for m in facts if m.mobile in wanted_mobiles},
    )


def _idempotency_key_release(*, client: str, idempotency_key: str | None, now) -> None:
    """A key older than the window may be used afresh; one within it (a request that raced this
    one, say) keeps it, and the unique constraint turns the new insert into a replay."""
    if idempotency_key:
        since = now - timedelta(hours=settings.IDEMPOTENCY_WINDOW_HOURS)
        SmsRequest.objects.filter(client=client, idempotency_key=idempotency_key, created_at__lt=since).update(
            idempotency_key=None
        )


def _request_fields(*, client, api_key, user, request_format, body_hash, idempotency_key, check_user_existence) -> dict:
    """The request's row (field values by attname), for either store path."""
    return {
        "id": next_request_id(),
        "api_key_id": api_key.pk if api_key is not None else None,
        "user_id": user.pk if user is not None else None,
        "format": request_format,
        "body_hash": body_hash,
        "idempotency_key": idempotency_key or None,
        "client": client,
        "check_user_existence": check_user_existence,
    }


def _message_fields(spec, layout) -> dict:
    """One message's row (field values by attname, without its request) from its spec, for
    either store path; a segment message waits for expansion."""
    return {
        "position": spec.position,
        "content": spec.content,
        "channel": spec.channel,
        "priority": spec.priority,
        "start_at": spec.start_at,
        "expires_at": spec.expires_at,
        "voice_on_failure": spec.voice_on_failure,
        "encoding": layout.encoding,
        "parts": layout.parts,
        "personalised": spec.personalised,
        "criteria": spec.criteria,
        "expansion_done": not spec.by_segment,
    }


def _listed_rows(spec, by_id, by_mobile, check_user_existence) -> list[tuple]:
    """Who a listed message reaches, each phone once: (member id, phone, content, reachable,
    error). Both store paths (one statement, and the ORM) build their rows from this."""
    rows: dict[str, tuple] = {}
    for ref in spec.recipients:
        member: Member | None
        if ref.member_id is not None:
            member = by_id.get(ref.member_id)
            if member is None or not member.mobile:
                continue
            phone = member.mobile
            reachable = member_reachable(member, channel=spec.channel)
        else:
            phone = ref.mobile
            member = by_mobile.get(phone)
            reachable = member_reachable(member, channel=spec.channel) if member else not check_user_existence
        if phone in rows:
            continue
        content = ""
        if spec.personalised:
            content = member_text(spec.content, member=member, phone=phone)
        error = "" if reachable else ("not an audience member" if member is None else "inactive or opted out")
        rows[phone] = (member.pk if member else None, phone, content, reachable, error)
    return list(rows.values())


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
    """The recipient rows of a listed message (the ORM path), from the same rule as _listed_rows."""
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
        for member_id, phone, content, reachable, error in _listed_rows(spec, by_id, by_mobile, check_user_existence)
    ]
