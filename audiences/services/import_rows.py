"""The file's side of a member import: its columns and header, the rows checked into the
temporary table's values (in worker processes for a large file), and what an import reports.
audiences/services/importing.py describes the whole import."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from audiences import values
from smsgateway.csvcells import csv_cell_unescape

REQUIRED_COLUMNS = ("firstName", "lastName", "email", "country")
OPTIONAL_COLUMNS = (
    "mobileNumber",
    "state",
    "active",
    "smsSubscription",
    "voiceSubscription",
    "emailSubscription",
    "lastActiveDate",
)
BOOLEAN_COLUMNS = ("active", "smsSubscription", "voiceSubscription", "emailSubscription")
COLUMN_ALIASES = {"mobile": "mobileNumber"}
BATCH_ROWS = 10_000
MAX_REPORTED = 1000


class ImportRefused(ValueError):
    """The file as a whole cannot be imported (no header, unknown or missing columns)."""


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    bad_count: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    imported: bool = False

    def add_bad(self, line: int, problem: str) -> None:
        self.bad_count += 1
        if len(self.bad) < MAX_REPORTED:
            self.bad.append((line, problem))


# Row checking (runs in worker processes for large files) -----------------------------------------


@dataclass(frozen=True)
class RowLayout:
    """What a row is checked against: the file's columns and the declared attributes."""

    columns: tuple[str, ...]
    declared: dict


def _check_row(row: list[str], layout: RowLayout):
    """A CSV row as the temporary table's values, or the reason it is bad."""
    columns, declared = layout.columns, layout.declared
    if len(row) != len(columns):
        return None, f"has {len(row)} fields where the header has {len(columns)}"
    cell = dict(zip(columns, map(csv_cell_unescape, row), strict=True))
    try:
        country = values.required_text(cell["country"], "country", max_length=64)
        state = values.optional_text(cell.get("state"), "state", max_length=64)
        if values.is_usa(country) and not state:
            raise ValueError("state is required when the country is the USA")
        attributes = values.attributes_clean({name: cell[name] for name in declared if name in cell}, declared)
        flags = []
        for name in BOOLEAN_COLUMNS:
            raw = cell.get(name, "")
            flags.append(None if raw.strip() == "" else values.boolean_clean(raw, name, default=True))
        moment = values.moment_clean(cell.get("lastActiveDate"), "lastActiveDate")
        return (
            values.required_text(cell["firstName"], "firstName", max_length=100),
            values.required_text(cell["lastName"], "lastName", max_length=100),
            values.email_clean(cell["email"]),
            values.mobile_clean(cell.get("mobileNumber"), region=values.country_region(country)),
            country,
            state or None,
            *flags,
            moment,
            json.dumps(attributes, separators=(",", ":")),
        ), None
    except ValueError as error:
        return None, str(error)


def batch_check(layout: RowLayout, batch: list[tuple[int, list[str]]]):
    return [(line, *_check_row(row, layout)) for line, row in batch]


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def batch_check_for_copy(layout: RowLayout, batch: list[tuple[int, list[str]]]):
    """The good rows of a batch as COPY text (so that the parent only passes bytes on), the bad
    rows as (line, problem), and how many rows the batch held."""
    lines, bad = [], []
    for line, row in batch:
        checked, problem = _check_row(row, layout)
        if problem:
            bad.append((line, problem))
        else:
            lines.append("\t".join([str(line), *map(_copy_value, checked)]))
    return ("\n".join(lines) + "\n" if lines else ""), bad, len(batch)


def row_batches(reader, first_line: int) -> Iterator[list[tuple[int, list[str]]]]:
    batch = []
    line = first_line
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        batch.append((start, row))
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def header_read(reader) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused("the file is empty") from None
    columns = [COLUMN_ALIASES.get(name.strip().lstrip("\ufeff"), name.strip().lstrip("\ufeff")) for name in header]
    declared = values.attributes_declared()
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS) | set(declared)
    unknown = [name for name in columns if name not in known]
    if unknown:
        raise ImportRefused(f"line 1: unknown column {unknown[0]!r} (declare custom attributes first)")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ImportRefused(f"line 1: missing column {missing[0]!r}")
    if len(set(columns)) != len(columns):
        raise ImportRefused("line 1: a column is named twice")
    return columns
