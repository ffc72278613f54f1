"""Quiet hours in the recipient's own local time, from the number's region and time zones.

A window is (quiet from, quiet until) in local wall-clock time, e.g. (21:00, 08:00): sending is
allowed from 08:00 to 21:00. A number whose region spans several zones (the US, say) is quiet
while it is quiet in any of them, and the window opens when it is open in all of them.
"""

from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

UNKNOWN_ZONE = "Etc/Unknown"


@lru_cache(maxsize=65536)
def phone_time_zones(phone: str) -> tuple[ZoneInfo, ...]:
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = []
    for name in phone_timezone.time_zones_for_number(number):
        if name == UNKNOWN_ZONE:
            continue
        try:
            zones.append(ZoneInfo(name))
        except ZoneInfoNotFoundError:
            continue
    return tuple(zones)


def _quiet_at(local: time, quiet_from: time, quiet_until: time) -> bool:
    if quiet_from == quiet_until:
        return False
    if quiet_from < quiet_until:
        return quiet_from <= local < quiet_until
    return local >= quiet_from or local < quiet_until


def _opens_in_zone(now: datetime, zone: ZoneInfo, quiet_from: time, quiet_until: time) -> datetime:
    local = now.astimezone(zone)
    if not _quiet_at(local.time(), quiet_from, quiet_until):
        return now
    opening = local.replace(hour=quiet_until.hour, minute=quiet_until.minute, second=0, microsecond=0)
    if opening <= local:
        opening += timedelta(days=1)
    # Wall-clock arithmetic across a DST change: normalise through UTC.
    return opening.replace(tzinfo=zone).astimezone(now.tzinfo)


def quiet_hours_opening(*, phone: str, now: datetime, window: tuple[time, time]) -> datetime:
    """When `phone` may next be sent to: `now` when outside quiet hours, else the window's opening."""
    quiet_from, quiet_until = window
    zones = phone_time_zones(phone)
    if not zones:
        return now
    opening = now
    for _ in range(3):  # opening in one zone may fall in another zone's quiet hours
        later = max(_opens_in_zone(opening, zone, quiet_from, quiet_until) for zone in zones)
        if later == opening:
            return opening
        opening = later
    return opening
