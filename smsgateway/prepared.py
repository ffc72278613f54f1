"""A cursor whose statements PostgreSQL parses and plans once per connection.

Django binds parameters on the client and turns psycopg's prepared statements off (to keep
transaction-mode connection poolers working). The send path runs the same two statements for
every request, and parsing and planning them was about a third of PostgreSQL's work a request:
prepared_cursor() gives those statements a cursor that binds on the server and prepares at first
use, wrapped by Django as any cursor (execute wrappers, query logging, error translation).

SMS_PREPARED_STATEMENTS=false turns it off, for a transaction-mode pooler that does not keep
prepared statements (PgBouncer before 1.21); other databases get Django's own cursor.

prepared_read() also spares a round trip: with CONN_HEALTH_CHECKS, Django sends a `SELECT 1` on
a connection kept from an earlier request before the request's first statement. When that first
statement is a read outside a transaction, the read is the check: a connection found broken is
closed and the read run once more on a new one, as the check would have done. A write is never
run twice: it gets Django's check first.
"""

from typing import Any

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db import connection as _connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

# The default connection; typed Any for its health-check attributes, which Django has and its type
# stubs do not list (health_check_enabled, health_check_done).
connection: Any = _connection


class _PreparingCursor(psycopg.Cursor):
    """Server-side binding; each statement prepared on the connection at its first execution
    (psycopg keeps the last 100 a connection prepared)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class _LoggedAsWritten(CursorDebugWrapper):
    """Query logging (DEBUG, tests) of the statement as written: Django reads the text of a
    statement bound on the client from the cursor, which a prepared statement does not set."""

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)


def prepared_cursor(*, checked: bool = True):
    """A Django cursor on the default connection whose statements are prepared (see above);
    `checked=False` skips Django's health check (prepared_read's caller stands in for it)."""
    if connection.vendor != "postgresql" or not settings.SMS_PREPARED_STATEMENTS:
        return connection.cursor()
    if checked:
        connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = _PreparingCursor(connection.connection)
    return (_LoggedAsWritten if connection.queries_logged else CursorWrapper)(raw, connection)


def prepared_read(sql: str, params) -> list[tuple]:
    """The rows of a read on a prepared cursor; the first statement of a request on a kept
    connection is its health check (see above)."""
    unchecked = (
        connection.vendor == "postgresql"
        and settings.SMS_PREPARED_STATEMENTS
        and connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if unchecked:
        try:
            with prepared_cursor(checked=False) as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        except (OperationalError, InterfaceError):
            if connection.is_usable():
                raise  # the read failed, not the connection
            connection.close()  # broken, as the check would have found it: read again on a new one
        else:
            connection.health_check_done = True
            return rows
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
