"""The database's side of a member import: the temporary table the checked rows go into (COPY on
PostgreSQL, batched inserts elsewhere), the set statements that mark rows repeating one another
or clashing with other members, then the update of the members that exist and the insert of the
rest. audiences/services/importing.py describes the whole import."""

from django.db import connection
from django.utils import timezone

from audiences.models import Member
from audiences.services.import_rows import MAX_REPORTED, ImportReport

TEMP_TABLE = "audience_import"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def temp_create() -> None:
    json_type = "jsonb" if is_postgres() else "text"
    moment_type = "timestamptz" if is_postgres() else "datetime"
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


def temp_copy(checked, report: ImportReport, progress) -> None:
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


def temp_load(checked, report: ImportReport, progress) -> None:
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


def temp_index() -> None:
    with connection.cursor() as cursor:
        # No indexes: every statement below reads the whole table, by hash joins and sorts.
        cursor.execute(f"ANALYZE {TEMP_TABLE}")


def clashes_mark(report: ImportReport) -> None:
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


def members_apply() -> tuple[int, int]:
    member_table = Member._meta.db_table
    t = TEMP_TABLE
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    merge = (
        f"{member_table}.attributes || {t}.attributes"
        if is_postgres()
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


def temp_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TEMP_TABLE}")
