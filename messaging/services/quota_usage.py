"""The day's usage of a key's quota: its shards, how a request books on them, and their growth.

The daily quota is checked in O(1): a key's parts of each UTC day are booked on a few rows
(ApiKeyDailyUsage, its shards), each request adding its cost to one of them by one upsert in the
transaction that stores it, and every later growth of the day's count (a text rendered at send
time, a resend, a voice call, an expansion past its counted audience) is added as it happens;
what lowers the count (a cancel, a recipient not attempted) is not subtracted. So the shards
together never fall below the exact count. With a quota, each shard holds a share of it (its
budget, verified for that quota): a request that fits its shard's budget fits the quota as the
exact count would say, and a key's requests lock different rows, so they do not wait for each
other's commits. A request that does not fit, finds its shard unverified (a key's first request
of the day, a growth since) or set for another quota, is stored again with every shard of the
day locked: the day's rows are counted exactly as before (the same 429), and the shards are set
from that count.
"""

import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from messaging.models import ApiKey, ApiKeyDailyUsage, Recipient, RecipientState, SmsMessage

from .quota_parts import api_key_parts_used_today, day_start, quota_exceeded, stored_text_parts


def _usage_day(moment: datetime) -> date:
    return day_start(moment).date()


class QuotaNeedsLock(Exception):  # noqa: N818 - a signal to the caller, not an error
    """The request does not fit its shard's budget, or the shard is not verified for the key's
    quota: store it again with quota_lock (its transaction is rolled back)."""


SHARD_MIN_PARTS = 1000  # a shard's budget is at least this (so a small quota is one shard)


def usage_plan(quota: int) -> list[int]:
    """The budget of each shard of a key's day: the quota shared out, at most
    API_KEY_USAGE_SHARDS shards of at least SHARD_MIN_PARTS (one shard for a small quota); a key
    without a quota books on every shard, with no budget (0)."""
    shards = max(1, settings.API_KEY_USAGE_SHARDS)
    if not quota:
        return [0] * shards
    count = max(1, min(shards, quota // SHARD_MIN_PARTS))
    return [quota // count + (quota % count if shard == 0 else 0) for shard in range(count)]


def usage_shard(quota: int) -> int:
    """The shard a request books on: any one of the plan's, so that a key's requests spread."""
    return random.randrange(len(usage_plan(quota)))  # noqa: S311 - a spread, not a secret


def usage_upsert_sql() -> str:
    """Add parts to one shard of a key's day (made, unverified, when missing), returning
    (parts, verified, quota) after the addition; parameters: key id, day, shard, parts."""
    table = connection.ops.quote_name(ApiKeyDailyUsage._meta.db_table)
    return (
        f"INSERT INTO {table} (api_key_id, day, shard, parts, verified, quota) VALUES (%s, %s, %s, %s, false, 0) "
        f"ON CONFLICT (api_key_id, day, shard) DO UPDATE SET parts = {table}.parts + EXCLUDED.parts "
        "RETURNING parts, verified, quota"
    )


class UsageFit(NamedTuple):
    """A booking that may go ahead only when it fits: the parameters of usage_fit_sql."""

    parts: int
    api_key_id: int
    day: date
    shard: int
    quota: int
    counted: int
    budget: int


def usage_fit(*, api_key: ApiKey, needed: int, booked: int, now: datetime, shard: int) -> UsageFit | None:
    """The booking of a request that stores itself in one statement without a transaction of its
    own: the shard's budget is checked by the statement that adds to it (usage_fit_sql), as
    quota_book checks it after an upsert. None when there is nothing to check (no quota, a request
    that needs no parts): then the plain upsert books it."""
    quota = api_key.daily_quota_parts
    if not quota or needed == 0:
        return None
    budgets = usage_plan(quota)
    return UsageFit(booked, api_key.pk, _usage_day(now), shard, quota, max(needed, booked), budgets[shard])


def usage_fit_sql() -> str:
    """Add parts to a shard of a key's day only when the shard is verified for the key's quota and
    the request fits its budget (the rule of quota_book), returning the parts after the addition;
    no row when it does not fit (or the shard is missing): then the request is stored again with
    the key's day locked. Parameters: those of UsageFit, in its order."""
    table = connection.ops.quote_name(ApiKeyDailyUsage._meta.db_table)
    return (
        f"UPDATE {table} SET parts = parts + %s "
        "WHERE api_key_id = %s AND day = %s AND shard = %s AND verified AND quota = %s AND parts + %s <= %s "
        "RETURNING parts"
    )


def _usage_add(*, api_key_id: int, day: date, shard: int, parts: int) -> tuple[int, bool, int]:
    with connection.cursor() as cursor:
        cursor.execute(usage_upsert_sql(), [api_key_id, connection.ops.adapt_datefield_value(day), shard, parts])
        used, verified, quota = cursor.fetchone()
    return int(used), bool(verified), int(quota)


def _usage_lock(*, api_key_id: int, day: date, shards: int) -> None:
    """Lock every shard of a key's day, in shard order (the plan's made when missing)."""
    ApiKeyDailyUsage.objects.bulk_create(
        [ApiKeyDailyUsage(api_key_id=api_key_id, day=day, shard=shard) for shard in range(shards)],
        ignore_conflicts=True,
    )
    list(
        ApiKeyDailyUsage.objects.select_for_update()
        .filter(api_key_id=api_key_id, day=day)
        .order_by("shard")
        .values_list("pk", flat=True)
    )


def usage_grow(growth: Iterable[tuple[int | None, datetime, int]]) -> None:
    """Add later growth of the day's count to the keys' shards: (key id, the request's created_at,
    parts) each; what is not a key's or not a growth is left out. The growth goes to shard 0 and
    every shard of the day is marked unverified, so that the key's next request with a quota
    counts the day exactly and shares it out again. Call it in the transaction of the change."""
    totals: dict[tuple[int, date], int] = defaultdict(int)
    for api_key_id, created_at, parts in growth:
        if api_key_id is not None and parts > 0:
            totals[(api_key_id, _usage_day(created_at))] += parts
    for (api_key_id, day), parts in sorted(totals.items()):  # one order: no deadlock between two
        with transaction.atomic():
            _usage_lock(api_key_id=api_key_id, day=day, shards=1)
            ApiKeyDailyUsage.objects.filter(api_key_id=api_key_id, day=day, shard=0).update(parts=F("parts") + parts)
            ApiKeyDailyUsage.objects.filter(api_key_id=api_key_id, day=day).update(verified=False)


def recipients_added(rows: Iterable[Recipient]) -> None:
    """New rows of existing messages (a resend, a voice call) count in their key's parts of the
    day: add them, in the transaction that stored them."""
    rows = list(rows)
    of = {
        message.pk: message
        for message in SmsMessage.objects.filter(pk__in={row.message_id for row in rows}).select_related("request")
    }
    usage_grow(
        (
            of[row.message_id].request.api_key_id,
            of[row.message_id].request.created_at,
            stored_text_parts(row.content, empty=of[row.message_id].parts),
        )
        for row in rows
        if row.state not in (RecipientState.NOT_ATTEMPTED, RecipientState.CANCELLED)
    )


def message_counted_parts(message_id: int) -> int:
    """What a segment message's own rows and waiting audience count in the day's parts, as
    api_key_parts_used_today reads its expansion (rows at the message's parts, the audience not
    yet written while not done); read before and after an expansion chunk, the growth between is
    added by message_expansion_grown."""
    message = SmsMessage.objects.filter(pk=message_id).values("parts", "expected_total", "expanded_count").first()
    if message is None:
        return 0
    return message["parts"] * max(message["expected_total"] or 0, message["expanded_count"])


def message_expansion_grown(message_id: int, before: int) -> None:
    """Add what an expansion chunk grew the message's count by to its key's row of the day."""
    after = message_counted_parts(message_id)
    if after > before:
        request = SmsMessage.objects.filter(pk=message_id).values("request__api_key_id", "request__created_at").first()
        if request is not None:  # a message deleted meanwhile has nothing left to count
            usage_grow([(request["request__api_key_id"], request["request__created_at"], after - before)])


def quota_lock(*, api_key: ApiKey | None, now: datetime) -> int | None:
    """For a request stored after QuotaNeedsLock: lock every shard of the key's day (waiting for
    the requests that hold one to commit) and count the day exactly, before the request's rows
    are written. None for a key without a quota."""
    if api_key is None or not api_key.daily_quota_parts:
        return None
    _usage_lock(api_key_id=api_key.pk, day=_usage_day(now), shards=len(usage_plan(api_key.daily_quota_parts)))
    return api_key_parts_used_today(api_key=api_key, now=now)


def quota_book(
    *,
    api_key: ApiKey | None,
    needed: int,
    booked: int,
    now: datetime,
    shard: int,
    usage: tuple[int, bool, int] | None = None,
    locked_used: int | None = None,
) -> None:
    """Book a stored request's parts on one shard of its key's day, and check the daily quota
    (raised inside the storing transaction, a refusal rolls it back whole).

    `needed` is what the quota check compares (request_parts), `booked` what the request adds to
    the day's exact count at most (its stored rows and counted audiences; later growth is added
    as it happens), `usage` the shard upsert's answer when the caller's statement made it. Fits
    the shard's budget, verified for the key's quota: accepted. Else QuotaNeedsLock, and the
    caller stores the request again with `locked_used` (quota_lock): the day's exact count is
    compared as before (the 429 past the quota), and the shards are set from it."""
    if api_key is None:
        return
    quota = api_key.daily_quota_parts
    day = _usage_day(now)
    if locked_used is not None:
        if needed and locked_used + needed > quota:
            raise quota_exceeded(quota=quota, used=locked_used, needed=needed, now=now)
        if usage is None:
            _usage_add(api_key_id=api_key.pk, day=day, shard=shard, parts=booked)
        _usage_share_out(api_key_id=api_key.pk, day=day, total=locked_used + booked, quota=quota)
        return
    parts, verified, row_quota = usage or _usage_add(api_key_id=api_key.pk, day=day, shard=shard, parts=booked)
    if not quota or needed == 0:
        return
    budgets = usage_plan(quota)
    if (
        verified
        and row_quota == quota
        and shard < len(budgets)
        and parts - booked + max(needed, booked) <= budgets[shard]
    ):
        return
    raise QuotaNeedsLock


def _usage_share_out(*, api_key_id: int, day: date, total: int, quota: int) -> None:
    """Set the (locked) shards of a key's day to `total` shared out in proportion to their
    budgets, verified for `quota`; past the quota they stay unverified (every request counts)."""
    budgets = usage_plan(quota)
    shares = [min(budget, total * budget // quota) for budget in budgets]
    rest = total - sum(shares)
    for shard, budget in enumerate(budgets):
        extra = min(rest, budget - shares[shard])
        shares[shard] += extra
        rest -= extra
    shares[0] += rest
    usage = ApiKeyDailyUsage.objects.filter(api_key_id=api_key_id, day=day)
    usage.update(parts=0, verified=rest == 0, quota=quota)
    for shard, share in enumerate(shares):
        if share:
            usage.filter(shard=shard).update(parts=share)
