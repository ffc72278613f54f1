"""Where the time of one send request goes: POST /api/v1/message/sms in process (Django's test
client through the whole middleware stack) on PostgreSQL, with Redis as the cache (rate limits)
and the broker (wake-ups), for one and for 100 recipients, JSON and XML.

Each step's function is wrapped with a timer (wall time, inclusive of what it calls): the API key
lookup, the rate limit, the parser, the normaliser, phone parsing (phonenumbers, counted wherever
it is called), the member lookups, the quota and country check, the model instances built, the
bulk_create calls, the commit and the wake-up publish; every SQL statement is timed by an
execute wrapper, and the statements of one request are listed (CaptureQueriesContext). Printed:
mean ms per request of each step, the SQL statements per request by kind, and the functions that
hold most of the time in cProfile (own time). A step that the code no longer has is shown as
absent, not guessed.

Environment: PROFILE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sms_bench_profile;
its name must contain "bench", its request tables are emptied), PROFILE_REDIS (default
redis://127.0.0.1:6379: db 14 the broker, db 15 the cache; PROFILE_REDIS_DBS="5,6" names two others),
PROFILE_REQUESTS (default 200 one-recipient requests, a quarter of that with 100 recipients),
PROFILE_CPROFILE_TOP (default 12), PROFILE_CPU_ONLY=1 only the CPU comparison with the durable floor,
PROFILE_QUOTA_PARTS the key's daily quota (default 1,000,000,000, as bench_api; 0 skips the check),
PROFILE_DAY_ROWS (default 100000, 0 for none): recipient rows of the key's earlier requests of the
day, written by SQL before a last one-recipient JSON case, since the quota check sums them.
"""

import contextlib
import cProfile
import functools
import importlib
import io
import json
import os
import pstats
import sys
import sysconfig
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("PROFILE_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/sms_bench_profile"
REDIS = (os.environ.get("PROFILE_REDIS") or "redis://127.0.0.1:6379").rstrip("/")
BROKER_DB, CACHE_DB = (int(n) for n in (os.environ.get("PROFILE_REDIS_DBS") or "14,15").split(","))
REQUESTS = int(os.environ.get("PROFILE_REQUESTS", "200"))
QUOTA_PARTS = int(os.environ.get("PROFILE_QUOTA_PARTS", "1000000000"))
DAY_ROWS = int(os.environ.get("PROFILE_DAY_ROWS", "100000"))
TOP = int(os.environ.get("PROFILE_CPROFILE_TOP", "12"))
SEND_PATH = "/api/v1/message/sms?checkUserExistence=false"
PHONES = [f"+1415555{n:04d}" for n in range(100, 200)]

os.environ.update(
    {
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": f"{REDIS}/{BROKER_DB}",
        "CACHE_URL": f"{REDIS}/{CACHE_DB}",
        "DJANGO_SETTINGS_MODULE": "smsgateway.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "testserver",
        "SMSGW_VAR_DIR": os.environ.get("SMSGW_VAR_DIR") or "/tmp/sms-bench-profile",
    }
)

# (label, module, attribute path): each found one is wrapped; nested steps are indented.
STEPS = [
    ("auth: API key lookup", "messaging.api.authentication", "ApiKeyAuthentication.authenticate"),
    ("rate limit (Redis)", "messaging.api.throttling", "ApiKeyRateThrottle.allow_request"),
    ("parse: JSON", "messaging.api.parsers", "LenientJSONParser.parse"),
    ("parse: XML", "messaging.api.parsers", "SafeXMLParser.parse"),
    ("idempotency replay check", "messaging.api.views", "sms_request_find_replay"),
    ("normalise", "messaging.api.views", "normalise_send_request"),
    ("submit (transaction, commit, on_commit)", "messaging.api.views", "sms_request_submit"),
    ("  member lookup", "messaging.services.request_rows", "members_by_ids"),
    ("  member lookup by mobile", "messaging.services.request_rows", "members_by_mobiles"),
    ("  recipient rows built", "messaging.services.request_orm", "_listed_recipients"),
    ("  recipient rows built", "messaging.services.requests", "listed_rows"),  # the one-statement path's
    ("  store statement built (request, messages, recipients)", "messaging.services.requests", "_insert_statement"),
    ("  quota booked (shard upsert answer checked)", "messaging.services.quota_usage", "quota_book"),
    ("  quota: day locked and counted exactly", "messaging.services.quota_usage", "quota_lock"),
    ("  quota and countries", "messaging.services.quotas", "quota_check"),
    ("  quota and countries", "messaging.services.requests", "quota_check"),  # where imported by name
    ("  wake-up publish", "messaging.services.wakeups", "request_accepted"),
    ("phone parsing: parse", "phonenumbers", "parse"),
    ("phone parsing: is_valid_number", "phonenumbers", "is_valid_number"),
    ("phone parsing: format_number", "phonenumbers", "format_number"),
    ("phone parsing: region_code_for_number", "phonenumbers", "region_code_for_number"),
    ("phone parsing: number_type", "phonenumbers", "number_type"),
    ("phone parsing: is_possible_number", "phonenumbers", "is_possible_number"),
    ("model instances: SmsRequest()", "messaging.models", "SmsRequest.__init__"),
    ("model instances: SmsMessage()", "messaging.models", "SmsMessage.__init__"),
    ("model instances: Recipient()", "messaging.models", "Recipient.__init__"),
    ("bulk_create (values + INSERT)", "django.db.models.query", "QuerySet.bulk_create"),
    ("Model.save (create, updates)", "django.db.models.base", "Model.save"),
    ("commit", None, "connection.commit"),
]

totals: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)
sql: dict[str, list[float]] = defaultdict(list)
_depth: dict[str, int] = defaultdict(int)


def timed(label, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        _depth[label] += 1
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _depth[label] -= 1
            if not _depth[label]:  # count a recursive or re-entrant step once
                totals[label] += time.perf_counter() - started
                calls[label] += 1

    return wrapper


def instrument() -> list[str]:
    """Wrap each step found; the labels of those the code does not have."""
    from django.db import connection

    absent = []
    found = set()
    for label, module_name, path in STEPS:
        if module_name is None:
            connection.commit = timed(label, connection.commit)
            continue
        try:
            owner = importlib.import_module(module_name)
            *parents, name = path.split(".")
            for parent in parents:
                owner = getattr(owner, parent)
            function = getattr(owner, name)
        except (ImportError, AttributeError):
            absent.append(label)
            continue
        setattr(owner, name, timed(label, function))
        found.add(label)
    return [label for label in dict.fromkeys(absent) if label not in found]


def sql_timer(execute, statement, params, many, context):
    started = time.perf_counter()
    try:
        return execute(statement, params, many, context)
    finally:
        sql[statement.lstrip().split(None, 1)[0].upper()].append(time.perf_counter() - started)


def prepare() -> str:
    from bench.common import bench_database_ensure

    bench_database_ensure(DATABASE_URL, bench="profile_send")
    import django

    django.setup()
    from django.db import connection

    from messaging.models import ApiKey
    from messaging.services.api_keys import api_key_create

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE messaging_recipientevent, messaging_recipient, messaging_smsmessage, messaging_smsrequest "
            "RESTART IDENTITY CASCADE"
        )
    ApiKey.objects.filter(name="bench-profile").delete()
    _, raw_key = api_key_create(
        name="bench-profile", rate_limit_per_minute=1_000_000_000, daily_quota_parts=QUOTA_PARTS
    )
    return raw_key


DAY_FILL = """
WITH q AS (
    INSERT INTO messaging_smsrequest (id, format, body_hash, idempotency_key, client, check_user_existence,
        created_at, api_key_id)
    SELECT 8000000000000000 + g, 'json', repeat('0', 64), NULL, 'key:' || %(key)s, false, now(), %(key)s
    FROM generate_series(1, %(requests)s) AS g
    RETURNING id
), m AS (
    INSERT INTO messaging_smsmessage (request_id, position, content, channel, priority, start_at, voice_on_failure,
        encoding, parts, personalised, criteria, expanded_count, expansion_done, expansion_cursor, created_at,
        expansion_attempts, expansion_error)
    SELECT q.id, 1, 'Your bench code is 123456', 'text', false, now(), false, 'gsm7', 1, false, '[]', 0, true, 0,
        now(), 0, ''
    FROM q
    RETURNING id
)
INSERT INTO messaging_recipient (message_id, phone, content, channel, state, priority, due_at, attempts,
    outcome_unknown, provider, provider_message_id, provider_ref, error_code, error, created_at, updated_at)
SELECT m.id, '+1415555' || lpad((100 + n)::text, 4, '0'), '', 'text', 'delivered', false, now(), 1, false, '', '',
    '', '', '', now(), now()
FROM m, generate_series(0, 99) AS n
"""


def day_fill(raw_key: str, rows: int) -> int:
    """The key's earlier traffic of today: `rows` recipient rows in requests of 100, by SQL."""
    from django.db import connection

    from messaging.models import ApiKey

    key = ApiKey.objects.get(prefix=raw_key.split(".", 1)[0]).pk
    with connection.cursor() as cursor:
        cursor.execute(DAY_FILL, {"key": key, "requests": max(rows // 100, 1)})
        cursor.execute("ANALYZE messaging_smsrequest")
        cursor.execute("ANALYZE messaging_smsmessage")
        cursor.execute("ANALYZE messaging_recipient")
    return max(rows // 100, 1) * 100


def json_body(count: int) -> str:
    recipients = [{"mobile": phone} for phone in PHONES[:count]]
    message = {
        "priorityService": "false",
        "content": "Your bench code is 123456",
        "recipients": {"recipient": recipients[0] if count == 1 else recipients},
    }
    return json.dumps({"smsServiceRequest": {"messages": {"message": message}}})


def xml_body(count: int) -> str:
    recipients = "".join(f'<recipient mobile="{phone}"/>' for phone in PHONES[:count])
    return (
        "<smsServiceRequest><messages><message><priorityService>false</priorityService>"
        f"<recipients>{recipients}</recipients><content>Your bench code is 123456</content>"
        "</message></messages></smsServiceRequest>"
    )


def profile_case(client, label, body, content_type, requests, headers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def post():
        response = client.post(SEND_PATH, data=body, content_type=content_type, **headers)
        if response.status_code != 200:
            raise SystemExit(f"{label}: answered {response.status_code}: {response.content[:300]!r}")

    for _ in range(max(requests // 10, 3)):  # warm: connections, caches, first imports
        post()
    with CaptureQueriesContext(connection) as captured:
        post()
    statements = [query["sql"] for query in captured.captured_queries]

    totals.clear()
    calls.clear()
    sql.clear()
    with connection.execute_wrapper(sql_timer):
        started = time.perf_counter()
        for _ in range(requests):
            post()
        wall = (time.perf_counter() - started) / requests
    step_totals, step_calls, sql_times = dict(totals), dict(calls), {verb: list(t) for verb, t in sql.items()}

    profiler = cProfile.Profile()
    profiled = max(requests // 4, 5)
    profiler.enable()
    for _ in range(profiled):
        post()
    profiler.disable()

    print(f"\n### {label}: {requests} requests, {wall * 1000:.2f} ms a request (wall, in process)\n")
    print("```")
    print(f"{'step':<46}{'ms/request':>11}{'calls/request':>15}")
    for step in dict.fromkeys(step for step, *_ in STEPS):
        if step in step_totals:
            print(f"{step:<46}{step_totals[step] / requests * 1000:>11.3f}{step_calls[step] / requests:>15.1f}")
    print(f"{'whole request (client.post)':<46}{wall * 1000:>11.3f}{1:>15.1f}")
    count = sum(len(times) for times in sql_times.values())
    spent = sum(map(sum, sql_times.values()))
    print(f"\nSQL (execute wrapper): {count / requests:.1f} statements a request, {spent / requests * 1000:.3f} ms")
    for verb, times in sorted(sql_times.items()):
        print(f"  {verb:<10}{len(times) / requests:>6.1f} a request {sum(times) / requests * 1000:>9.3f} ms")
    print(f"statements of one request ({len(statements)}, as CaptureQueriesContext saw them):")
    for statement in statements:
        print(f"  {' '.join(statement.split())[:150]}")
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(TOP)
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    print(f"\ncProfile of {profiled} more requests, the {TOP} functions with most own time:")
    prefixes = sorted({sysconfig.get_paths()[key] + "/" for key in ("purelib", "stdlib")} | {f"{ROOT}/"}, key=len)
    for line in lines[start:]:
        for prefix in reversed(prefixes):
            line = line.replace(prefix, "")
        print(f"  {line.rstrip()}")
    print("```")


def _backend_cpu_seconds() -> float:
    """CPU (user and system) the PostgreSQL backend of this connection has used, from /proc."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuCase:
    """CPU a request, in ms: this thread's (Django, the view, the drivers) and its PostgreSQL
    backend's. CPU, unlike wall time, does not grow with the machine's load, and it is what bounds
    requests a second on a saturated machine; cases are measured in alternating rounds, so that
    a busy spell of the machine falls on each alike."""

    def __init__(self, client, label, path, body, headers, urlconf=None):
        self.client, self.label, self.path, self.body, self.headers = client, label, path, body, headers
        self.urlconf = urlconf
        self.python = self.database = 0.0
        self.requests = 0

    def round(self, requests: int, counted: bool = True) -> None:
        from django.test import override_settings
        from django.urls import clear_url_caches

        with override_settings(ROOT_URLCONF=self.urlconf) if self.urlconf else contextlib.nullcontext():
            clear_url_caches()
            backend, started = _backend_cpu_seconds(), time.thread_time()
            for _ in range(requests):
                response = self.client.post(self.path, data=self.body, content_type="application/json", **self.headers)
                if response.status_code != 200:
                    raise SystemExit(f"{self.label}: answered {response.status_code}: {response.content[:300]!r}")
            if counted:
                self.python += time.thread_time() - started
                self.database += _backend_cpu_seconds() - backend
                self.requests += requests
        clear_url_caches()

    def per_request(self) -> tuple[float, float]:
        return self.python / self.requests * 1000, self.database / self.requests * 1000


def cpu_comparison(client, headers) -> None:
    """The one-recipient JSON request beside the durable floor of bench_api (bench/comparators.py),
    in CPU a request, served in process through the same middleware."""
    rounds, each = 10, max(REQUESTS, 100)
    gateway = CpuCase(client, "gateway POST /api/v1/message/sms", SEND_PATH, json_body(1), headers)
    floor = CpuCase(client, "durable floor (bench/comparators.py)", "/floor", json_body(1), {}, "bench.comparators")
    for case in (gateway, floor):
        case.round(max(each // 5, 3), counted=False)  # warm: connections, caches, first imports
    for _ in range(rounds):
        for case in (gateway, floor):
            case.round(each)
    print(f"\n### CPU a request, one-recipient JSON, {rounds} alternating rounds of {each} requests each (ms)\n")
    print("```")
    print(f"{'':<46}{'Python':>9}{'PostgreSQL':>11}{'both':>9}")
    for case in (gateway, floor):
        python, database = case.per_request()
        print(f"{case.label:<46}{python:>9.3f}{database:>11.3f}{python + database:>9.3f}")
    (gp, gd), (fp, fd) = gateway.per_request(), floor.per_request()
    print(f"{'gateway / floor, CPU a request':<46}{gp / fp:>9.2f}{'':>11}{(gp + gd) / (fp + fd):>9.2f}")
    print("```")


def main() -> int:
    raw_key = prepare()
    from django.test import Client

    from messaging.models import Recipient

    client = Client()
    headers = {"HTTP_X_VOLTMX_APP_API_KEY": raw_key}
    load = os.getloadavg()
    print(
        f"Profile of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
        f"on {os.cpu_count()} cores; PostgreSQL {urlsplit(DATABASE_URL).path.lstrip('/')}, Redis cache and broker; "
        f"the key's daily quota {QUOTA_PARTS:,} parts; `python bench/profile_send.py`"
    )
    print("Inclusive wall times (a step's time holds the steps and SQL it calls; indented steps are inside")
    print("submit). BEGIN is not a statement of its own: psycopg sends it with the first INSERT.")
    few = max(REQUESTS // 4, 5)
    cpu_comparison(client, headers)  # before the steps are wrapped with timers
    if os.environ.get("PROFILE_CPU_ONLY"):
        return 0
    absent = instrument()
    if absent:
        print(f"absent from the code (not timed): {', '.join(absent)}")
    profile_case(client, "JSON, 1 recipient", json_body(1), "application/json", REQUESTS, headers)
    profile_case(client, "XML, 1 recipient", xml_body(1), "application/xml", REQUESTS, headers)
    profile_case(client, "JSON, 100 recipients", json_body(100), "application/json", few, headers)
    profile_case(client, "XML, 100 recipients", xml_body(100), "application/xml", few, headers)
    if DAY_ROWS:
        filled = day_fill(raw_key, DAY_ROWS)
        label = f"JSON, 1 recipient, after {filled:,} recipient rows of the same key today"
        profile_case(client, label, json_body(1), "application/json", REQUESTS, headers)
    print(f"\nrecipient rows stored: {Recipient.objects.count():,}")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    import redis

    redis.Redis.from_url(f"{REDIS}/{BROKER_DB}").flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
