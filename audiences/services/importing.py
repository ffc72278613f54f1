"""Bulk import and export of members as CSV.

An import upserts by mobile number (or by email, for a row without one): every row is checked in
Python (in parallel processes for a large file), the good rows go into a temporary table (COPY on
PostgreSQL, batched inserts elsewhere), and a handful of set statements then find rows that repeat
one another or clash with other members, update the members that exist and insert the rest. The
whole import is one transaction: with `strict`, one bad row imports nothing.

Columns are the API's names (firstName, lastName, email, mobileNumber, country, state, active,
smsSubscription, voiceSubscription, emailSubscription, lastActiveDate) and the declared custom
attributes. An empty optional cell leaves an existing member's value as it is (a new member takes
the default), so an import never opts anyone back in by leaving a column blank.

The export escapes cells a spreadsheet would run as formulas (smsgateway.csvcells: `'+1415…`), and
the import reads that quote back off, so that an export imports again as it was.
"""

import csv
import io
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from audiences import values
from audiences.models import Member
from smsgateway.csvcells import csv_cell_escape, csv_cell_unescape

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
PARALLEL_FROM_ROWS = 50_000
MAX_REPORTED = 1000
TEMP_TABLE = "audience_import"


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
class _Layout:
    """What a row is checked against: the file's columns and the declared attributes."""

    columns: tuple[str, ...]
    declared: dict


def _check_row(row: list[str], layout: _Layout):
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


def _check_batch(layout: _Layout, batch: list[tuple[int, list[str]]]):
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


def _check_batch_for_copy(layout: _Layout, batch: list[tuple[int, list[str]]]):
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


def _batches(reader, first_line: int) -> Iterator[list[tuple[int, list[str]]]]:
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


def _header(reader) -> list[str]:
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


# The import ------------------------------------------------------------------------------------


def members_import(
    *,
    stream: Iterable[str],
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    parallel: bool | None = None,
    expected_rows: int | None = None,
) -> ImportReport:
    """Upsert the members of a CSV text stream; see the module's description."""
    reader = csv.reader(stream)
    layout = _Layout(columns=tuple(_header(reader)), declared=values.attributes_declared())
    report = ImportReport()
    if parallel is None:
        parallel = (expected_rows or 0) >= PARALLEL_FROM_ROWS and (os.cpu_count() or 1) > 1
    with transaction.atomic():
        _temp_create()
        batches = _batches(reader, 1)
        if _is_postgres():
            _temp_copy(_checked_batches(batches, parallel, partial(_check_batch_for_copy, layout)), report, progress)
        else:
            _temp_load(_checked_batches(batches, parallel, partial(_check_batch, layout)), report, progress)
        _temp_index()
        _mark_clashes(report)
        if not (strict and report.bad_count):
            report.updated, report.created = _apply()
            report.imported = True
        _temp_drop()
        if not report.imported:
            transaction.set_rollback(True)
    report.bad.sort()
    return report


def _checked_batches(batches, parallel: bool, check):
    if not parallel:
        yield from map(check, batches)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=os.cpu_count()) as pool:
        yield from pool.imap(check, batches, chunksize=1)


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _temp_create() -> None:
    json_type = "jsonb" if _is_postgres() else "text"
    moment_type = "timestamptz" if _is_postgres() else "datetime"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TEMP_TABLE}")
        cursor.execute(
            f"""CREATE TEMPORARY TABLE {TEMP_TABLE} (
                line integer PRIMARY KEY, first_name text, last_name text, email text, mobile text,
                country text, state text, active boolean, sms_subscription boolean,
                voice_subscription boolean, email_subscription boolean, last_active_date {moment_type},
                attributes {json_type}, member_id bigint, problem text
            )"""
        )


_TEMP_COLUMNS = (
    "line, first_name, last_name, email, mobile, country, state, active, sms_subscription, "
    "voice_subscription, email_subscription, last_active_date, attributes"
)


def _temp_copy(checked, report: ImportReport, progress) -> None:
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {TEMP_TABLE} ({_TEMP_COLUMNS}) FROM STDIN") as copy:
            for text, bad, size in checked:
                report.rows += size
                for line, problem in bad:
                    report.add_bad(line, problem)
                if text:
                    copy.write(text.encode())
                if progress:
                    progress(size)


def _temp_load(checked, report: ImportReport, progress) -> None:
    with connection.cursor() as cursor:
        adapt = connection.ops.adapt_datetimefield_value
        statement = f"INSERT INTO {TEMP_TABLE} ({_TEMP_COLUMNS}) VALUES ({', '.join(['%s'] * 13)})"
        for batch in checked:
            good = []
            for line, row, problem in batch:
                report.rows += 1
                if problem:
                    report.add_bad(line, problem)
                else:
                    good.append((line, *row[:10], adapt(row[10]), row[11]))
            cursor.executemany(statement, good)
            if progress:
                progress(len(batch))


def _temp_index() -> None:
    with connection.cursor() as cursor:
        # No indexes: every statement below reads the whole table, by hash joins and sorts.
        cursor.execute(f"ANALYZE {TEMP_TABLE}")


def _mark_clashes(report: ImportReport) -> None:
    """Rows that repeat an earlier row's key, or that clash with other members; then the
    member each remaining row updates (by mobile, else by email)."""
    member_table = Member._meta.db_table
    t = TEMP_TABLE
    statements = [
        # The same mobile or email twice in the file: the later rows are bad.
        f"""UPDATE {t} SET problem = 'repeats the mobileNumber of line ' || d.first
            FROM (SELECT line, MIN(line) OVER (PARTITION BY mobile) AS first FROM {t} WHERE mobile IS NOT NULL) d
            WHERE {t}.line = d.line AND d.first <> d.line""",
        f"""UPDATE {t} SET problem = 'repeats the email of line ' || d.first
            FROM (SELECT line, MIN(line) OVER (PARTITION BY email) AS first FROM {t}) d
            WHERE {t}.line = d.line AND d.first <> d.line AND {t}.problem IS NULL""",
        # Upsert keys: the member with the mobile, else the member with the email.
        f"""UPDATE {t} SET member_id = m.id FROM {member_table} m
            WHERE m.mobile = {t}.mobile AND {t}.problem IS NULL""",
        f"""UPDATE {t} SET member_id = m.id FROM {member_table} m
            WHERE {t}.member_id IS NULL AND m.email = {t}.email AND {t}.problem IS NULL""",
        # An email that belongs to another member than the one the row updates.
        f"""UPDATE {t} SET problem = 'email ' || {t}.email || ' already belongs to member ' || m.id
            FROM {member_table} m
            WHERE m.email = {t}.email AND {t}.member_id IS NOT NULL AND m.id <> {t}.member_id
              AND {t}.problem IS NULL""",
        # Two rows that reach one member (one by mobile, one by email).
        f"""UPDATE {t} SET problem = 'updates the same member as line ' || d.first
            FROM (SELECT line, MIN(line) OVER (PARTITION BY member_id) AS first FROM {t}
                  WHERE member_id IS NOT NULL AND problem IS NULL) d
            WHERE {t}.line = d.line AND d.first <> d.line""",
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        cursor.execute(f"SELECT COUNT(*) FROM {t} WHERE problem IS NOT NULL")
        report.bad_count += cursor.fetchone()[0]
        cursor.execute(f"SELECT line, problem FROM {t} WHERE problem IS NOT NULL ORDER BY line LIMIT {MAX_REPORTED}")
        for line, problem in cursor.fetchall():
            if len(report.bad) < MAX_REPORTED:
                report.bad.append((line, problem))


def _apply() -> tuple[int, int]:
    member_table = Member._meta.db_table
    t = TEMP_TABLE
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    merge = (
        f"{member_table}.attributes || {t}.attributes"
        if _is_postgres()
        else (f"json_patch({member_table}.attributes, {t}.attributes)")
    )
    keep = [
        "mobile",
        "state",
        "active",
        "voice_subscription",
        "email_subscription",
        "last_active_date",
    ]
    kept = ", ".join(f"{name} = COALESCE({t}.{name}, {member_table}.{name})" for name in keep)
    # A member who texted STOP stays unsubscribed whatever the file says: only a text from the
    # number, or a staff member's lift with a reason, subscribes it again.
    kept += (
        f", sms_subscription = CASE WHEN {member_table}.sms_opted_out_at IS NULL"
        f" THEN COALESCE({t}.sms_subscription, {member_table}.sms_subscription)"
        f" ELSE {member_table}.sms_subscription END"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {member_table} SET first_name = {t}.first_name, last_name = {t}.last_name,
                    email = {t}.email, country = {t}.country, {kept}, attributes = {merge}, updated_at = %s
                FROM {t} WHERE {member_table}.id = {t}.member_id AND {t}.problem IS NULL""",
            [now],
        )
        updated = max(cursor.rowcount, 0)
        cursor.execute(
            f"""INSERT INTO {member_table} (
                    first_name, last_name, email, mobile, country, state, active, sms_subscription,
                    voice_subscription, email_subscription, last_active_date, attributes, created_at, updated_at
                )
                SELECT first_name, last_name, email, mobile, country, COALESCE(state, ''),
                       COALESCE(active, TRUE), COALESCE(sms_subscription, TRUE),
                       COALESCE(voice_subscription, TRUE), COALESCE(email_subscription, TRUE),
                       last_active_date, attributes, %s, %s
                FROM {t} WHERE member_id IS NULL AND problem IS NULL ORDER BY line""",
            [now, now],
        )
        created = max(cursor.rowcount, 0)
    return updated, created


def _temp_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TEMP_TABLE}")


# Export --------------------------------------------------------------------------------------


def members_export_rows(*, members=None) -> Iterator[str]:
    """The members as CSV text, line by line, in the import's columns (so that it reads back)."""
    declared = sorted(values.attributes_declared())
    header = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, *declared]
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush():
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(map(csv_cell_escape, header))
    yield flush()
    members = Member.objects.order_by("id") if members is None else members.order_by("id")
    for member in members.iterator(chunk_size=5000):
        attributes = member.attributes or {}
        cells = [
            member.first_name,
            member.last_name,
            member.email or "",
            member.country,
            member.mobile or "",
            member.state,
            *(
                "true" if flag else "false"
                for flag in (
                    member.active,
                    member.sms_subscription,
                    member.voice_subscription,
                    member.email_subscription,
                )
            ),
            member.last_active_date.isoformat() if member.last_active_date else "",
            *("" if attributes.get(name) is None else attributes[name] for name in declared),
        ]
        writer.writerow(map(csv_cell_escape, cells))
        yield flush()
