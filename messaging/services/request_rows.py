"""What both store paths of a send request build it from: the request's start (the time, the
key's day locked when asked, an expired Idempotency-Key released), the members its listed
recipients name, and the field values of its request, messages and recipients."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audiences.models import Member
from audiences.selectors import (
    audience_owner_of_client,
    member_facts,
    member_reachable,
    members_by_ids,
    members_by_mobiles,
)
from messaging.errors import Problem, invalid_format
from messaging.ids import next_request_id
from messaging.models import SmsRequest
from messaging.personalise import member_text

from . import quota_usage, quotas


def request_start(*, locked: bool, **request_fields) -> tuple:
    """What both store paths do first: the time, the key's day locked when asked (a request that
    did not fit its booking), an expired Idempotency-Key released, and the request's field values."""
    now = timezone.now()
    locked_used = quota_usage.quota_lock(api_key=request_fields["api_key"], now=now) if locked else None
    _idempotency_key_release(
        client=request_fields["client"], idempotency_key=request_fields["idempotency_key"], now=now
    )
    return now, locked_used, _request_fields(**request_fields)


def listed_members(specs, *, client: str, whole: bool) -> tuple[dict, dict]:
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


def message_fields(spec, layout) -> dict:
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


def rendered_length_check(positions: list[int]) -> None:
    """Refuse the messages (by position) whose personalised text for some recipient is longer
    than SMS_MAX_RENDERED_CHARS (400), before anything is counted."""
    if positions:
        limit = settings.SMS_MAX_RENDERED_CHARS
        raise invalid_format([Problem(quotas.RENDERED_TOO_LONG.format(limit=limit), n) for n in positions])


def listed_rows(spec, by_id, by_mobile, check_user_existence) -> list[tuple]:
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
