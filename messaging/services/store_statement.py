"""The one statement that stores a request listing its recipients, on PostgreSQL: the request, its
messages (joined by position) and their recipients (one array per column, unnested), and the
key's parts of the day, in one round trip and with no model instance per row.

The key's booking takes one of three forms:
- "fit": first, the parts added to one shard of the key's day only when they fit its budget
  (quota_usage.usage_fit_sql), and the rows written only when they did, so that the statement writes
  everything or nothing by itself and needs no transaction of its own; it returns a row only then;
- "upsert": last, the parts added to the shard whatever they come to, returning (parts, verified,
  quota) for quota_usage.quota_book to check (a key without a quota, a request counted with the day
  locked);
- "": no key (a gateway user), nothing booked.

Values are written as Django would write them (model defaults, auto_now, each field's adaptation),
from a plan made once per model. Every value that is NULL, and every recipient column that holds
one value in all rows, is part of the statement's text or sent once, not per row: psycopg keeps the
parsed form of a statement only up to 50 parameters, and each array element costs its quoting.
"""

from functools import cache, lru_cache

from django.db import connection
from django.db.models import Model

from messaging.models import Recipient, RecipientState, SmsMessage, SmsRequest

from . import quota_usage

# Field types whose Python value psycopg adapts as it is (the value is already of the column's
# type here): no get_db_prep_save call each. Any other field is prepared as Django would.
_AS_IS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateTimeField",
        "ForeignKey",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)
# Who a listed recipient is and what became of it: the columns a row varies in.
RECIPIENT_VARYING = ("member_id", "phone", "content", "state", "final_at", "error")


@cache
def columns(model: type[Model], skip: tuple = ()) -> tuple:
    """The columns an INSERT writes: not a serial key, not one the database fills by its default."""
    return tuple(
        f
        for f in model._meta.concrete_fields
        if f.name not in skip and not getattr(f, "db_returning", False) and not f.has_db_default()
    )


@cache
def _plan(model: type[Model], skip: tuple) -> tuple:
    """(attname, field, how) for each column: "now" (auto_now, auto_now_add), "as is", "prepare"."""
    plan = []
    for field in columns(model, skip):
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            how = "now"
        elif field.get_internal_type() in _AS_IS:
            how = "as is"
        else:
            how = "prepare"
        plan.append((field.attname, field, how))
    return tuple(plan)


def row_values(model: type[Model], values: dict, *, now, skip: tuple = ()) -> list:
    """The values an INSERT of a `model` row with these field values (by attname) writes to
    columns(model, skip): what is not given takes the field's default, auto_now fields `now`."""
    row = []
    for attname, field, how in _plan(model, skip):
        if how == "now":
            row.append(now)
            continue
        value = values[attname] if attname in values else field.get_default()
        row.append(value if how == "as is" or value is None else field.get_db_prep_save(value, connection))
    return row


def insert_statement(request: dict, messages: list[dict], rows_of: dict, *, now, booking: str, usage: list):
    """The statement and its parameters. `request` and each of `messages` are field values by
    attname (a message's without its request); `rows_of` maps a message's position to its rows
    (member id, phone, content, reachable, error); `usage` the parameters of the booking: those
    of quota_usage.usage_fit_sql for "fit", (key id, day, shard, parts) for "upsert"."""
    request_values = row_values(SmsRequest, request, now=now)
    message_values = [row_values(SmsMessage, message, now=now, skip=("request",)) for message in messages]
    # NULL in every message: written in the text; else a parameter in each message's row.
    message_nulls = tuple(all(values[i] is None for values in message_values) for i in range(len(message_values[0])))
    params = list(usage) if booking == "fit" else []
    params += [value for value in request_values if value is not None]
    for values in message_values:
        params += [value for value, null in zip(values, message_nulls, strict=True) if not null]
    recipient_mask, scalars, vectors = _recipient_columns(messages, rows_of, now)
    params += scalars + vectors
    if booking == "upsert":
        params += list(usage)
    request_nulls = tuple(value is None for value in request_values)
    text = _statement_text(len(messages), request_nulls, message_nulls, recipient_mask, booking)
    return text, params


@cache
def _recipient_kinds() -> tuple[str | None, ...]:
    """For each recipient column, the varying column it is (RECIPIENT_VARYING) or None."""
    return tuple(f.attname if f.attname in RECIPIENT_VARYING else None for f in columns(Recipient, ("message",)))


def _varying(name: str, rows: list, now) -> list:
    """A varying recipient column's values, from rows (member id, phone, content, reachable, error)."""
    if name == "state":
        return [RecipientState.INITIAL if row[3] else RecipientState.NOT_ATTEMPTED for row in rows]
    if name == "final_at":
        return [None if row[3] else now for row in rows]
    if name == "error":
        return [row[4] for row in rows]
    k = RECIPIENT_VARYING.index(name)
    return [row[k] for row in rows]


def _recipient_columns(messages: list[dict], rows_of: dict, now) -> tuple[tuple, list, list]:
    """Each recipient column as "null" (NULL in every row), "once" (one value, sent once) or
    "rows" (an array): the mask, the values sent once, and the arrays (positions first). A column
    no row varies in holds its message's value (as a new row of that message has it)."""
    kinds = _recipient_kinds()
    segments: list[list] = [[] for _ in kinds]  # per column: (values of a message's rows) each
    positions = []
    for message in messages:
        rows = rows_of[message["position"]]
        base = row_values(
            Recipient,
            {
                "channel": message["channel"],
                "priority": message["priority"],
                "due_at": message["start_at"],
                "expires_at": message.get("expires_at"),
            },
            now=now,
            skip=("message",),
        )
        positions += [message["position"]] * len(rows)
        for i, name in enumerate(kinds):
            segments[i].append(_varying(name, rows, now) if name else (base[i], len(rows)))
    mask, scalars, vectors = [], [], [positions]
    for parts in segments:
        values = [v for part in parts for v in (part if isinstance(part, list) else [part[0]])]
        first = values[0] if values else None
        if all(value == first for value in values):
            mask.append("null" if first is None else "once")
            if first is not None:
                scalars.append(first)
        else:
            mask.append("rows")
            vectors.append([v for part in parts for v in (part if isinstance(part, list) else [part[0]] * part[1])])
    return tuple(mask), scalars, vectors


def _typed(field) -> str:
    return f"%s::{field.db_type(connection)}"


def _null(field) -> str:
    return f"NULL::{field.db_type(connection)}"


@lru_cache(maxsize=512)
def _statement_text(
    message_count: int, request_nulls: tuple, message_nulls: tuple, recipient_mask: tuple, booking: str
) -> str:
    """The statement's text for a request of `message_count` messages, its NULLs written in, and
    its key's booking ("fit", "upsert" or ""): built once for each shape."""
    qn = connection.ops.quote_name
    request_fields = columns(SmsRequest)
    names = ", ".join(qn(f.column) for f in request_fields)
    values = ", ".join(_null(f) if null else _typed(f) for f, null in zip(request_fields, request_nulls, strict=True))
    request_sql = f"INSERT INTO {qn(SmsRequest._meta.db_table)} ({names}) SELECT {values}"
    if booking == "fit":
        request_sql += " WHERE EXISTS (SELECT 1 FROM booked)"
    request_sql += f" RETURNING {qn('id')}"

    message_fields = columns(SmsMessage, ("request",))
    row = (
        "("
        + ", ".join(_null(f) if null else _typed(f) for f, null in zip(message_fields, message_nulls, strict=True))
        + ")"
    )
    aliases = [f"c{i}" for i in range(len(message_fields))]
    message_sql = (
        f"INSERT INTO {qn(SmsMessage._meta.db_table)} (request_id, {', '.join(qn(f.column) for f in message_fields)}) "
        f"SELECT req.id, {', '.join('v.' + a for a in aliases)} FROM req, (VALUES {', '.join([row] * message_count)}) "
        f"AS v({', '.join(aliases)}) RETURNING id, {qn('position')}"
    )

    recipient_fields = columns(Recipient, ("message",))
    select, unnest, aliases = [], ["%s::integer[]"], ["pos"]
    for i, (field, how) in enumerate(zip(recipient_fields, recipient_mask, strict=True)):
        if how == "null":
            select.append(_null(field))
        elif how == "once":
            select.append(_typed(field))
        else:
            select.append(f"v.c{i}")
            unnest.append(f"%s::{field.db_type(connection)}[]")
            aliases.append(f"c{i}")
    recipient_sql = (
        f"INSERT INTO {qn(Recipient._meta.db_table)} (message_id, {', '.join(qn(f.column) for f in recipient_fields)}) "
        f"SELECT msg.id, {', '.join(select)} FROM unnest({', '.join(unnest)}) "
        f"AS v({', '.join(aliases)}) JOIN msg ON msg.{qn('position')} = v.pos"
    )
    writes = f"req AS ({request_sql}), msg AS ({message_sql}), rcp AS ({recipient_sql})"
    if booking == "fit":
        return f"WITH booked AS ({quota_usage.usage_fit_sql()}), {writes} SELECT parts FROM booked"
    return f"WITH {writes} " + (quota_usage.usage_upsert_sql() if booking == "upsert" else "SELECT 1")
