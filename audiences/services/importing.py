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

This module runs the import and writes the export. The file's side (columns, the header, rows
checked, the report) is in import_rows.py; the database's side (the temporary table and the set
statements) in import_tables.py.
"""

import csv
import io
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from functools import partial

from django.db import transaction

from audiences import values
from audiences.models import Member
from audiences.services.import_rows import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ImportRefused,
    ImportReport,
    RowLayout,
    batch_check,
    batch_check_for_copy,
    header_read,
    row_batches,
)
from audiences.services.import_tables import (
    clashes_mark,
    is_postgres,
    members_apply,
    temp_copy,
    temp_create,
    temp_drop,
    temp_index,
    temp_load,
)
from smsgateway.csvcells import csv_cell_escape

__all__ = ["ImportRefused", "ImportReport", "members_export_rows", "members_import"]

PARALLEL_FROM_ROWS = 50_000


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
    layout = RowLayout(columns=tuple(header_read(reader)), declared=values.attributes_declared())
    report = ImportReport()
    if parallel is None:
        parallel = (expected_rows or 0) >= PARALLEL_FROM_ROWS and (os.cpu_count() or 1) > 1
    with transaction.atomic():
        temp_create()
        batches = row_batches(reader, 1)
        if is_postgres():
            temp_copy(_checked_batches(batches, parallel, partial(batch_check_for_copy, layout)), report, progress)
        else:
            temp_load(_checked_batches(batches, parallel, partial(batch_check, layout)), report, progress)
        temp_index()
        clashes_mark(report)
        if not (strict and report.bad_count):
            report.updated, report.created = members_apply()
            report.imported = True
        temp_drop()
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
