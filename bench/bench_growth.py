"""Staying fast as the tables grow, and the purge beside intake, on PostgreSQL.

Three databases on the same server (each name must contain "bench": their tables are emptied
or dropped):
- the store (BENCH_GROWTH_DATABASE_URL, default sms_bench_growth_purge): BENCH_GROWTH_ROWS
  recipient rows (default 10,000,000; 100 to a request, every one final and 100 to 190 days
  old, one event for every tenth) built once by INSERT ... SELECT generate_series with the
  secondary indexes dropped during the load, and reused by later runs when COUNT(*) finds them;
- the empty database (<store>_empty): migrated, its request tables emptied every run;
- the working copy (<store>_work): made each run from the store as its template, measured and
  purged, then dropped, so that the store keeps its rows.

Measured in process, the same way on the empty table and on the full one: intake, one-recipient
JSON requests posted through Django's test client (the whole API path: key, rate limit, quota,
insert, wake-up), requests per second with p50 and p99; and the dispatch claim, BENCH_GROWTH_CLAIM
queued recipients (and intake's) claimed by `recipients_claim` in batches of DISPATCH_BATCH_SIZE, rows per
second. Then `manage.py purge_sms --older-than 90d` runs in its own process on the working copy
while the same intake loop runs beside it until the purge ends: intake's p99 during the purge.

Targets: intake and claim on the full table at least 0.8x the empty table's; intake's p99
during the purge at most 2x its p99 on the full table without it; the purge leaves none of the
old rows and every intake row. Prints MISSED: and exits 1 on a miss.

Environment: BENCH_GROWTH_DATABASE_URL, BENCH_GROWTH_ROWS (default 10000000),
BENCH_GROWTH_REQUESTS (intake requests per measure, default 1500), BENCH_GROWTH_CLAIM (default
20000), BENCH_GROWTH_ROUNDS (measures of each table, default 2, the best kept),
BENCH_GROWTH_REBUILD=1 to build the store again, BENCH_GROWTH_PURGE=0 to leave the purge out,
BENCH_GROWTH_PURGE_SECONDS to measure intake over that window of the purge and stop it then
(then it says SHORT: and fails). Redis databases 11 (broker) and 12 (cache).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STORE_URL = os.environ.get("BENCH_GROWTH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/sms_bench_growth_purge"
ROWS = int(os.environ.get("BENCH_GROWTH_ROWS", "10000000"))
REQUESTS = int(os.environ.get("BENCH_GROWTH_REQUESTS", "1500"))
CLAIM = int(os.environ.get("BENCH_GROWTH_CLAIM", "20000"))
ROUNDS = int(os.environ.get("BENCH_GROWTH_ROUNDS", "2"))
PURGE = os.environ.get("BENCH_GROWTH_PURGE", "1") != "0"
# Seconds of intake beside the purge (0: until the purge exits). A purge of ten million rows at
# the default pace takes most of an hour; its batches are alike from first to last, so a window of
# its run measures its effect on intake, and the purge is stopped at its end (each batch is its
# own transaction: nothing is left half done).
PURGE_WINDOW = float(os.environ.get("BENCH_GROWTH_PURGE_SECONDS", "0"))
PER_MESSAGE = 100
WARMUP = 50
TARGET_RATIO = 0.8
TARGET_P99_FACTOR = 2.0
BENCH_KEY = "bench-growth"
PHONES = [f"+1415555{n:04d}" for n in range(1000, 2000)]
CONTENT = "Your bench code is 123456"

ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "smsgateway.settings",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/11",
    "CACHE_URL": "redis://127.0.0.1:6379/12",
    "SMSGW_VAR_DIR": os.environ.get("SMSGW_VAR_DIR") or tempfile.mkdtemp(prefix="bench-growth-"),
    "SMS_BACKEND": "messaging.backends.locmem.LocmemBackend",
    "LOG_LEVEL": "WARNING",
    "DEBUG": "false",
    "SMS_RETENTION_DAYS": "0",
    "SMS_DEFAULT_ALLOWED_COUNTRIES": "US",
}
ENV.setdefault("SECRET_KEY", "bench-growth-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")

RECIPIENTS_SQL = """
INSERT INTO messaging_recipient (message_id, member_id, phone, content, channel, state, priority, due_at,
    attempts, outcome_unknown, provider, provider_message_id, provider_ref, error_code, error,
    submitted_at, final_at, created_at, updated_at)
SELECT m, NULL, '+1415' || lpad((g %% 10000000)::text, 7, '0'), '', 'text',
       CASE WHEN s < 85 THEN 'delivered' WHEN s < 93 THEN 'undelivered' WHEN s < 97 THEN 'rejected'
            ELSE 'expired' END,
       false, t, 1, false, CASE WHEN g %% 3 = 0 THEN 'twilio' ELSE 'smsc-a' END, to_hex(g), to_hex(g),
       CASE WHEN s >= 85 THEN '0x0000000B' ELSE '' END, '', t + interval '2 seconds', t + interval '9 seconds',
       t, t + interval '9 seconds'
FROM (
    SELECT g, (g - 1) / {per_message} + 1 AS m, (g * 7919) %% 100 AS s,
           now() - interval '100 days' - make_interval(secs => ({rows} - g) * 7776000.0 / {rows}) AS t
    FROM generate_series(1::bigint, {rows}) AS g
) AS rows
"""


PURGE_PROCESS = """
import sys
import django
django.setup()
from django.core.management import call_command
print("ready", flush=True)
sys.stdin.readline()
call_command("purge_sms", "--older-than", "90d")
"""


def admin_connect():
    import psycopg

    url = urlsplit(STORE_URL)
    return psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True)


def named(suffix: str) -> str:
    url = urlsplit(STORE_URL)
    return url._replace(path=url.path + suffix).geturl()


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def step(label: str):
    class _Step:
        def __enter__(self):
            self.started = time.monotonic()
            print(f"  {label} ...", end="", flush=True)

        def __exit__(self, *exc):
            print(f" {time.monotonic() - self.started:.1f} s", flush=True)

    return _Step()


def database_ensure(url: str) -> None:
    name = database_name(url)
    with admin_connect() as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**ENV, "DATABASE_URL": url},
        check=True,
        stdout=subprocess.DEVNULL,
    )


def recipient_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT COUNT(*) FROM messaging_recipient").fetchone()[0]


def store_build() -> None:
    """The store's ROWS old, final recipient rows; kept when COUNT(*) finds exactly them."""
    import psycopg

    have = recipient_count(STORE_URL)
    if have == ROWS and os.environ.get("BENCH_GROWTH_REBUILD") != "1":
        print(f"reusing the {have:,} recipient rows of {database_name(STORE_URL)} (counted)")
        return
    messages = max(ROWS // PER_MESSAGE, 1)
    print(f"building {messages:,} requests and {ROWS:,} recipient rows in {database_name(STORE_URL)} (found {have:,})")
    with psycopg.connect(STORE_URL, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET synchronous_commit = off")
        with step("emptying"):
            conn.execute(
                "TRUNCATE messaging_recipientevent, messaging_recipient, messaging_smsmessage, "
                "messaging_smsrequest, messaging_pendingreceipt RESTART IDENTITY CASCADE"
            )
        with step("requests and messages"):
            conn.execute(
                """
                INSERT INTO messaging_smsrequest (id, format, body_hash, client, check_user_existence, created_at)
                SELECT 7000000000000000 + g, 'json', repeat('0', 64), 'key:0', true,
                       now() - interval '100 days' - make_interval(secs => (%(n)s - g) * 7776000.0 / %(n)s)
                FROM generate_series(1, %(n)s) AS g
                """,
                {"n": messages},
            )
            conn.execute(
                """
                INSERT INTO messaging_smsmessage (id, request_id, position, content, channel, priority, start_at,
                    voice_on_failure, encoding, parts, personalised, criteria, expanded_count, expansion_done,
                    expansion_cursor, created_at, expansion_attempts, expansion_error)
                SELECT g, 7000000000000000 + g, 1, 'Your order ' || g || ' is on its way.', 'text', false,
                       r.created_at, false, 'gsm7', 1, false, '[]', 0, true, 0, r.created_at, 0, ''
                FROM generate_series(1, %(n)s) AS g JOIN messaging_smsrequest r ON r.id = 7000000000000000 + g
                """,
                {"n": messages},
            )
            conn.execute("SELECT setval(pg_get_serial_sequence('messaging_smsmessage', 'id'), %s)", [messages])
        indexes = conn.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
            WHERE i.indrelid = 'messaging_recipient'::regclass AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """
        ).fetchall()
        with step(f"dropping {len(indexes)} secondary indexes for the load"):
            for name, _ in indexes:
                conn.execute(f"DROP INDEX {name}")
        try:
            with step(f"{ROWS:,} recipients by INSERT ... SELECT generate_series"):
                # The rows point at messages made just above: no foreign-key triggers for the load.
                conn.execute("SET session_replication_role = replica")
                conn.execute(RECIPIENTS_SQL.format(rows=ROWS, per_message=PER_MESSAGE), ())
                conn.execute("SET session_replication_role = DEFAULT")
        finally:
            with step("building the indexes again"):
                for _, definition in indexes:
                    conn.execute(definition)
        with step("one event for every tenth recipient"):
            conn.execute("SET session_replication_role = replica")
            conn.execute(
                """
                INSERT INTO messaging_recipientevent (recipient_id, state, at, provider_message_id, error_code, detail)
                SELECT id, state, final_at, provider_message_id, error_code, '' FROM messaging_recipient
                WHERE id %% 10 = 0
                """,
                (),
            )
            conn.execute("SET session_replication_role = DEFAULT")
        with step("VACUUM ANALYZE"):
            for table in ("smsrequest", "smsmessage", "recipient", "recipientevent"):
                conn.execute(f"VACUUM ANALYZE messaging_{table}")


def empty_prepare(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE messaging_recipientevent, messaging_recipient, messaging_smsmessage, messaging_smsrequest, "
            "messaging_pendingreceipt RESTART IDENTITY CASCADE"
        )
        conn.execute("VACUUM ANALYZE messaging_recipient")


def work_copy(url: str) -> None:
    name, store = database_name(url), database_name(STORE_URL)
    with admin_connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with step(f"copying {store} to {name}"):
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{store}" STRATEGY FILE_COPY')


def work_drop(url: str) -> None:
    with admin_connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def worker(phase: str, url: str, *args: str) -> dict:
    """One phase in its own process on one database: its figures as JSON on the last line."""
    result = subprocess.run(
        [sys.executable, "-u", __file__, phase, *args],
        cwd=ROOT,
        env={**ENV, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(f"{phase} on {database_name(url)} exited with {result.returncode}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Inside a phase's process


def _setup():
    import django

    django.setup()
    from django.test import Client

    from messaging.services.api_keys import api_key_create

    # A key of this process's own: a key that has requests cannot be deleted.
    _, raw_key = api_key_create(
        name=f"{BENCH_KEY}-{os.getpid()}", rate_limit_per_minute=1_000_000_000, daily_quota_parts=1_000_000_000
    )
    return Client(HTTP_X_VOLTMX_APP_API_KEY=raw_key)


def _body(n: int) -> str:
    message = {
        "priorityService": "false",
        "content": CONTENT,
        "recipients": {"recipient": {"mobile": PHONES[n % 1000]}},
    }
    return json.dumps({"smsServiceRequest": {"messages": {"message": message}}})


def _intake(client, count: int | None = None, until=None) -> dict:
    """Post one-recipient requests, `count` of them or until `until()` says stop."""
    times, failed, n = [], 0, 0
    started = time.perf_counter()
    while (count is None or n < count) and (until is None or not until()):
        sent = time.perf_counter()
        status = client.post(
            "/api/v1/message/sms?checkUserExistence=false", _body(n), content_type="application/json"
        ).status_code
        times.append(time.perf_counter() - sent)
        failed += status != 200
        n += 1
    elapsed = time.perf_counter() - started
    times.sort()
    return {
        "requests": n,
        "failed": failed,
        "per_second": n / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(times) * 1000 if times else 0.0,
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000 if times else 0.0,
    }


def _claim() -> dict:
    from django.conf import settings
    from django.db import connection

    from messaging.services.dispatch import recipients_claim

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO messaging_smsrequest (id, format, body_hash, client, check_user_existence, created_at)
            SELECT COALESCE(MAX(id), 6000000000000000) + 1, 'json', repeat('0', 64), 'key:0', false, now()
            FROM messaging_smsrequest WHERE id BETWEEN 6000000000000000 AND 6999999999999999
            RETURNING id
            """
        )
        request_id = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO messaging_smsmessage (request_id, position, content, channel, priority, start_at,
                voice_on_failure, encoding, parts, personalised, criteria, expanded_count, expansion_done,
                expansion_cursor, created_at, expansion_attempts, expansion_error)
            VALUES (%s, 1, 'Your claim bench code', 'text', false, now(), false, 'gsm7', 1, false,
                    '[]', 0, true, 0, now(), 0, '') RETURNING id
            """,
            [request_id],
        )
        message_id = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO messaging_recipient (message_id, phone, content, channel, state, priority, due_at,
                attempts, outcome_unknown, provider, provider_message_id, provider_ref, error_code, error,
                created_at, updated_at)
            SELECT %s, '+1628' || lpad(g::text, 7, '0'), '', 'text', 'initial', false, now() - interval '1 second',
                   0, false, '', '', '', '', '', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [message_id, CLAIM],
        )
        cursor.execute("ANALYZE messaging_recipient")
        # Intake's rows wait in the queue too: the claim takes them with the bench's.
        cursor.execute("SELECT COUNT(*) FROM messaging_recipient WHERE state = 'initial'")
        queued = cursor.fetchone()[0]
    batch = settings.DISPATCH_BATCH_SIZE
    claimed, started = 0, time.perf_counter()
    while rows := recipients_claim(batch_size=batch):
        claimed += len(rows)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        # Sent, as far as the next measure on this table knows: nothing left waiting in the queue.
        cursor.execute(
            "UPDATE messaging_recipient SET state = 'delivered', final_at = now(), lease_token = NULL, "
            "lease_until = NULL WHERE state = 'initial'"
        )
    return {"queued": queued, "claimed": claimed, "per_second": claimed / elapsed if elapsed else 0.0}


def phase_measure() -> dict:
    client = _setup()
    _intake(client, WARMUP)
    return {"intake": _intake(client, REQUESTS), "claim": _claim()}


def phase_purge() -> dict:
    client = _setup()
    from messaging.models import Recipient

    _intake(client, WARMUP)
    baseline = _intake(client, REQUESTS)
    # The purge's process loads Django first and starts purging when told: its start-up (a second
    # or two of a core) is not the purge's effect on intake.
    purge = subprocess.Popen(
        [sys.executable, "-u", "-c", PURGE_PROCESS],
        cwd=ROOT,
        env=os.environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if purge.stdout.readline().strip() != "ready":
        raise SystemExit(f"the purge process did not start: {purge.stderr.read()[-2000:]}")
    started = time.perf_counter()
    purge.stdin.write("go\n")
    purge.stdin.flush()
    window_over = (lambda: time.perf_counter() - started >= PURGE_WINDOW) if PURGE_WINDOW else (lambda: False)
    during = _intake(client, until=lambda: purge.poll() is not None or window_over())
    stopped = purge.poll() is None
    if stopped:
        purge.terminate()
    out, err = purge.communicate()
    seconds = time.perf_counter() - started
    if stopped:
        out = f"stopped after the {PURGE_WINDOW:g} s window (BENCH_GROWTH_PURGE_SECONDS); {out.strip()}"
    elif purge.returncode != 0:
        raise SystemExit(f"purge_sms exited with {purge.returncode}: {err[-2000:]}")
    recent = Recipient.objects.filter(message__request__created_at__gte=_a_day_ago())
    return {
        "baseline": baseline,
        "during": during,
        "purge_seconds": seconds,
        "stopped": stopped,
        "purge_summary": out.strip(),
        "remaining": Recipient.objects.count(),
        "recent": recent.count(),
    }


def _a_day_ago():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(days=1)


# ---------------------------------------------------------------------------------------------


def best(runs: list[dict]) -> dict:
    """The fastest intake and claim of several runs on one table."""
    intake = max((run["intake"] for run in runs), key=lambda figures: figures["per_second"])
    claim = max((run["claim"] for run in runs), key=lambda figures: figures["per_second"])
    failed = sum(run["intake"]["failed"] for run in runs)
    return {"intake": {**intake, "failed": failed}, "claim": claim, "runs": runs}


def main() -> int:
    for url in (STORE_URL, named("_empty"), named("_work")):
        if not urlsplit(url).scheme.startswith("postgres"):
            sys.exit("bench_growth needs PostgreSQL")
        if "bench" not in database_name(url):
            sys.exit(
                f"refusing to empty the tables of {database_name(url)!r}: use a database whose name contains 'bench'"
            )
    empty_url, work_url = named("_empty"), named("_work")
    database_ensure(STORE_URL)
    store_build()
    database_ensure(empty_url)
    stored = recipient_count(STORE_URL)

    print(
        f"\nintake ({REQUESTS} one-recipient JSON requests in process) and claim ({CLAIM:,} rows), "
        f"empty and full in turn, {ROUNDS} rounds, the best of each (the machine is shared):"
    )
    work_copy(work_url)
    try:
        empties, fulls = [], []
        for _ in range(ROUNDS):
            empty_prepare(empty_url)
            empties.append(worker("measure", empty_url))
            fulls.append(worker("measure", work_url))
        empty, full = best(empties), best(fulls)
        purge = None
        if PURGE:
            print("  purging the full table's old rows while intake runs ...", flush=True)
            purge = worker("purge", work_url)
    finally:
        work_drop(work_url)
        import redis

        # No worker runs: the wake-ups that intake published are dropped, as bench_api does.
        for url in (ENV["CELERY_BROKER_URL"], ENV["CACHE_URL"]):
            redis.Redis.from_url(url).flushdb()

    def line(label, figures):
        intake, claim = figures["intake"], figures["claim"]
        return (
            f"  {label:34s} intake {intake['per_second']:7.1f} req/s  p50 {intake['p50_ms']:6.1f} ms  "
            f"p99 {intake['p99_ms']:6.1f} ms  failed {intake['failed']}  claim {claim['per_second']:8.0f} rows/s"
        )

    print(line("empty table", empty))
    print(line(f"{stored:,} rows stored (counted)", full))
    intake_ratio = full["intake"]["per_second"] / empty["intake"]["per_second"]
    claim_ratio = full["claim"]["per_second"] / empty["claim"]["per_second"]
    print(f"  ratios full/empty: intake {intake_ratio:.2f}, claim {claim_ratio:.2f} (target >= {TARGET_RATIO})")
    misses = purge_report(purge, stored) if purge else ["SHORT: the purge was not run (BENCH_GROWTH_PURGE=0)"]
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    if stored != ROWS:
        misses.append(f"the store holds {stored:,} recipient rows, not {ROWS:,}")
    if intake_ratio < TARGET_RATIO:
        misses.append(f"intake on the full table {intake_ratio:.2f}x the empty table's (target {TARGET_RATIO})")
    if claim_ratio < TARGET_RATIO:
        misses.append(f"claim on the full table {claim_ratio:.2f}x the empty table's (target {TARGET_RATIO})")
    for figures in (empty["intake"], full["intake"]):
        if figures["failed"]:
            misses.append(f"{figures['failed']} intake requests failed")
    if any(run["claim"]["claimed"] != run["claim"]["queued"] for run in empties + fulls):
        misses.append("the claim did not take every queued row once")
    for miss in misses:
        print(miss if miss.startswith("SHORT:") else f"MISSED: {miss}")
    return 1 if misses else 0


def purge_report(purge: dict, stored: int) -> list[str]:
    """Print the purge's figures; return its misses."""
    base, during = purge["baseline"], purge["during"]
    p99_factor = during["p99_ms"] / base["p99_ms"]
    old_left = purge["remaining"] - purge["recent"]
    purged = stored - old_left
    print(
        f"  purge of {stored:,} rows (SMS_RETENTION_BATCH {os.environ.get('SMS_RETENTION_BATCH', 'default')}, "
        f"SMS_RETENTION_PAUSE_SECONDS {os.environ.get('SMS_RETENTION_PAUSE_SECONDS', 'default')}): "
        f"{purge['purge_seconds']:.0f} s ({purged / purge['purge_seconds']:,.0f} rows/s); "
        f"{purge['purge_summary']}"
    )
    print(
        f"  intake beside the purge: {during['requests']} requests, {during['per_second']:.1f} req/s, "
        f"p50 {during['p50_ms']:.1f} ms, p99 {during['p99_ms']:.1f} ms, failed {during['failed']}; "
        f"without it p99 {base['p99_ms']:.1f} ms ({p99_factor:.2f}x, target <= {TARGET_P99_FACTOR}x)"
    )
    print(
        f"  left after the purge: {purge['remaining']:,} rows: {old_left:,} of the old ones, "
        f"{purge['recent']:,} of this run's intake and claim"
    )
    misses = []
    if p99_factor > TARGET_P99_FACTOR:
        misses.append(f"intake p99 beside the purge {p99_factor:.2f}x its p99 without (target {TARGET_P99_FACTOR})")
    expected_recent = (ROUNDS + 1) * (WARMUP + REQUESTS) + during["requests"] + ROUNDS * CLAIM
    # A purge stopped at the end of its window leaves old rows behind; none of this run's may go.
    if (old_left and not purge["stopped"]) or purge["recent"] != expected_recent:
        misses.append(
            f"the purge left {old_left:,} old rows and {purge['recent']:,} of this run's "
            f"(expected 0 and {expected_recent:,})"
        )
    for figures in (base, during):
        if figures["failed"]:
            misses.append(f"{figures['failed']} intake requests failed beside the purge")
    return misses


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.path.insert(0, str(ROOT))
        phase = {"measure": phase_measure, "purge": phase_purge}[sys.argv[1]]
        print(json.dumps(phase()))
        sys.exit(0)
    sys.exit(main())
