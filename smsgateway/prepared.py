"""A cursor whose statements PostgreSQL parses and plans once per connection.

Django binds parameters on the client and turns psycopg's prepared statements off (to keep
transaction-mode connection poolers working). The send path runs the same two statements for
every request, and parsing and planning them was about a third of PostgreSQL's work a request:
prepared_cursor() gives those statements a cursor that binds on the server and prepares at first
use, wrapped by Django as any cursor (execute wrappers, query logging, error translation).

SMS_PREPARED_STATEMENTS=false turns it off, for a transaction-mode pooler that does not keep
prepared statements (PgBouncer before 1.21); other databases get Django's own cursor.
"""

import psycopg
from django.conf import settings
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


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


def prepared_cursor():
    """A Django cursor on the default connection whose statements are prepared (see above)."""
    if connection.vendor != "postgresql" or not settings.SMS_PREPARED_STATEMENTS:
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = _PreparingCursor(connection.connection)
    return (_LoggedAsWritten if connection.queries_logged else CursorWrapper)(raw, connection)
