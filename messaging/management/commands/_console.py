"""What the operator's commands share: parsing times and a progress bar on stderr."""

from datetime import UTC, datetime, timedelta

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def moment(text: str | None) -> datetime | None:
    """An ISO 8601 time (UTC when no zone is given) or an age such as 30m, 6h, 2d."""
    if not text:
        return None
    text = text.strip()
    if text[:-1].isdecimal() and text[-1:] in UNITS:
        return timezone.now() - timedelta(**{UNITS[text[-1]]: int(text[:-1])})
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"Not a time: {text!r} (give ISO 8601, e.g. 2026-01-31T08:00, or an age: 30m, 6h, 2d)")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def progress(total: int, unit: str, stream):
    """A progress bar for long work, shown only on a terminal."""
    return tqdm(total=total, unit=unit, file=stream, disable=None, leave=False, dynamic_ncols=True)


def chunks(ids: list[int], size: int):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
