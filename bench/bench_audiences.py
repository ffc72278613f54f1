"""Audiences at scale on PostgreSQL: import a million members from CSV, then send to a
two-condition segment that holds half of them (500,000 of 1,000,000).

Prints the import time of the CSV; the seconds from the POST of the segment message (through the
real API view, with an API key) to its last recipient row, the expansion run in a child process
as a worker runs it (booted before the POST, as a worker is); beside them the seconds of one
hand-written INSERT ... SELECT of the same rows in the same run, into the same table emptied
again (so both write into an empty table with the same indexes and constraints), and the ratio
of the two; the indexes of the recipient table with the scans each had during the run
(pg_stat_user_indexes); and the child's peak memory.
Exits 1 on a missed target: the expansion over 15 s or over 1.5x the hand-written statement.

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sms_bench_aud, created and
migrated if missing; its name must contain "bench", since its tables are emptied), BENCH_MEMBERS
(default 1000000).
"""

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/sms_bench_aud"
MEMBERS = int(os.environ.get("BENCH_MEMBERS", "1000000"))
TARGET_SECONDS = 15.0
TARGET_RATIO = 1.5
TARGET_RSS_MB = 300.0
IMPORT_TARGET_SECONDS = 60.0
BENCH_LOCK = 0x61756431  # advisory lock key of this bench

os.environ.update(
    {
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": "memory://localhost/",  # wake-ups go nowhere: the expansion is run here
        "CACHE_URL": "locmemcache://",
        "DJANGO_SETTINGS_MODULE": "smsgateway.settings",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        # A campaign to half a million members: past the default cap on one request's parts.
        "SMS_MAX_PARTS_PER_REQUEST": "0",
    }
)


def ensure_database() -> None:
    from bench.common import bench_database_ensure

    bench_database_ensure(DATABASE_URL, bench="bench_audiences (DATABASE_URL)", migrate=False)


def hold_bench_lock():
    """One run at a time on the bench database: a second run waits for the first."""
    import psycopg

    url = DATABASE_URL.replace("postgres://", "postgresql://", 1)
    holder = psycopg.connect(url, autocommit=True)
    if not holder.execute("SELECT pg_try_advisory_lock(%s)", [BENCH_LOCK]).fetchone()[0]:
        print("another run of bench_audiences is using the database: waiting for it", flush=True)
        holder.execute("SELECT pg_advisory_lock(%s)", [BENCH_LOCK])
    return holder


def setup_django() -> None:
    import django

    django.setup()


def write_csv(path: str, count: int) -> None:
    """Members +1 415 2xx xxxx; score = i mod 100; one in a hundred has opted out of SMS, all with
    a score of 50 or more, so that the segment (score under 50) holds exactly half the members."""
    states = ["CA", "NY", "TX", "WA"]
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["firstName", "lastName", "email", "mobileNumber", "country", "state", "smsSubscription", "score"]
        )
        for i in range(count):
            writer.writerow(
                [
                    f"First{i}",
                    f"Last{i}",
                    f"member{i}@example.com",
                    f"+1415{200 + i // 10000:03d}{i % 10000:04d}",
                    "United States",
                    states[i % 4],
                    "false" if i % 100 == 51 else "true",
                    i % 100,
                ]
            )


def expand_in_child() -> None:
    """The child, booted before the POST as a worker is: read the message's id, run the expansion
    chunk after chunk as the task does, then report."""
    setup_django()
    from django.db import connection

    from messaging.services.expansion import message_expand_chunk

    connection.ensure_connection()
    print("ready", flush=True)
    message_id = int(sys.stdin.readline())
    started = time.time()
    first_chunk_at = None
    chunks = 0
    while True:
        chunks += 1
        done = message_expand_chunk(message_id=message_id)
        if first_chunk_at is None:
            first_chunk_at = time.time()
        if done:
            break
    print(
        json.dumps(
            {
                "started": started,
                "first_chunk_at": first_chunk_at,
                "finished": time.time(),
                "chunks": chunks,
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def print_index_use(connection) -> None:
    """Each index of the recipient table: its scans in this run, and the rows it was written for."""
    time.sleep(1)  # the statistics of a backend reach the shared counters within a second
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            """
            SELECT s.indexrelname, s.idx_scan, pg_get_expr(i.indpred, i.indrelid) IS NOT NULL
            FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
            WHERE s.relname = 'messaging_recipient' ORDER BY s.indexrelname
            """
        )
        rows = cursor.fetchall()
    print(f"recipient table indexes:     {len(rows)} (scans in this run; partial ones marked)")
    for name, scans, partial in rows:
        print(f"  {name:45s} {scans:>9,} scans{'  partial' if partial else ''}")


def main() -> int:
    ensure_database()
    lock = hold_bench_lock()  # noqa: F841 - held until the process ends
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import RequestFactory

    call_command("migrate", verbosity=0)
    from audiences.models import AudienceAttribute, Member, Segment, SegmentCondition
    from messaging.api.views import SmsSendApi
    from messaging.models import Recipient, SmsMessage, SmsRequest
    from messaging.services.api_keys import api_key_create

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE messaging_recipientevent, messaging_recipient, messaging_smsmessage, "
            "messaging_smsrequest, audiences_member RESTART IDENTITY CASCADE"
        )
    Segment.objects.exclude(name=Segment.ALL_USERS).delete()
    with connection.cursor() as cursor:  # the index scans printed at the end are this run's
        cursor.execute("SELECT pg_stat_reset()")
    AudienceAttribute.objects.get_or_create(name="score", defaults={"type": "number"})

    workdir = tempfile.mkdtemp(prefix="bench-aud-")
    csv_path = os.path.join(workdir, "members.csv")
    started = time.monotonic()
    write_csv(csv_path, MEMBERS)
    print(f"wrote {MEMBERS:,} members to CSV in {time.monotonic() - started:.1f} s", flush=True)

    started = time.monotonic()
    imported = subprocess.run(
        [sys.executable, "manage.py", "import_audience", csv_path, "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    import_seconds = time.monotonic() - started
    os.unlink(csv_path)
    if imported.returncode != 0:
        print(imported.stdout, imported.stderr)
        return 1
    print(f"import_audience: {imported.stdout.strip()}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audiences_member")

    segment = Segment.objects.create(name="Low scorers in the USA", definition="1 AND 2", published=True)
    SegmentCondition.objects.create(segment=segment, number=1, attribute="score", operator="LessThan", value="50")
    SegmentCondition.objects.create(
        segment=segment, number=2, attribute="country", operator="Equal", value="United States"
    )
    _, raw_key = api_key_create(name="bench-audiences", daily_quota_parts=0)
    body = json.dumps(
        {
            "smsServiceRequest": {
                "messages": {
                    "message": {
                        "content": "Hello [[firstName,customer]], your score is [[score]]",
                        "priorityService": "false",
                        "recipients": {"segment": {"criteria": f"##{segment.id}##"}},
                    }
                }
            }
        }
    )

    # The worker is running before the request comes, as in production: its start is not timed.
    child = subprocess.Popen(
        [sys.executable, __file__, "--expand"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if child.stdout.readline().strip() != "ready":
        print("the expansion worker did not start:", child.communicate()[1])
        return 1

    post_started = time.time()
    request = RequestFactory().post(
        "/api/v1/message/sms", body, content_type="application/json", HTTP_X_VOLTMX_APP_API_KEY=raw_key
    )
    response = SmsSendApi.as_view()(request)
    response.render()
    post_seconds = time.time() - post_started
    if response.status_code != 200:
        print("POST failed:", response.status_code, response.content)
        child.kill()
        return 1
    request_id = json.loads(response.content)["id"]
    message = SmsMessage.objects.get(request_id=request_id)
    connection.close()
    out, err = child.communicate(f"{message.id}\n")
    if child.returncode != 0:
        print(out, err)
        return 1
    report = json.loads(out.strip().splitlines()[-1])
    total_seconds = report["finished"] - post_started
    first_seconds = report["first_chunk_at"] - post_started
    rows = Recipient.objects.filter(message_id=message.id).count()

    # The same rows by one hand-written statement, into a second message of the same request,
    # once the expansion's rows are counted and gone: both write into an empty table.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE messaging_recipientevent, messaging_recipient")
    second = SmsMessage.objects.get(pk=message.pk)
    second.pk = None
    second.position = 2
    second.save()
    statement = """
        INSERT INTO messaging_recipient (
            message_id, member_id, phone, content, channel, state, priority, due_at, expires_at,
            attempts, outcome_unknown, provider, provider_message_id, error_code, error, created_at, updated_at
        )
        SELECT %s, m.id, m.mobile, '', 'text', 'initial', false, now(), NULL, 0, false, '', '', '', '', now(), now()
        FROM audiences_member m
        WHERE m.active AND m.sms_subscription AND m.mobile IS NOT NULL
          AND (m.attributes ->> 'score')::double precision < 50 AND m.country = 'United States'
        ON CONFLICT (message_id, phone) WHERE resend_of_id IS NULL DO NOTHING
    """
    with connection.cursor() as cursor:
        started = time.monotonic()
        cursor.execute(statement, [second.pk])
        hand_seconds = time.monotonic() - started
        hand_rows = cursor.rowcount

    members = Member.objects.count()
    ratio = total_seconds / hand_seconds if hand_seconds else float("inf")
    print()
    print(f"members imported:            {members:,} in {import_seconds:.1f} s (target {IMPORT_TARGET_SECONDS:.0f} s)")
    print(f"segment message recipients:  {rows:,} (hand-written SQL: {hand_rows:,})")
    print(f"POST answered in:            {post_seconds:.2f} s")
    print(f"first chunk written after:   {first_seconds:.2f} s")
    print(
        f"POST to last recipient row:  {total_seconds:.1f} s in {report['chunks']} chunks "
        f"(target under {TARGET_SECONDS:.0f} s)"
    )
    print(f"hand-written INSERT SELECT:  {hand_seconds:.1f} s")
    print(f"ratio to hand-written SQL:   {ratio:.2f} (target at most {TARGET_RATIO:.1f})")
    print(f"expansion worker peak RSS:   {report['max_rss_mb']:.0f} MB (target under {TARGET_RSS_MB:.0f} MB)")
    verdicts = {
        "import": import_seconds < IMPORT_TARGET_SECONDS,
        "seconds": total_seconds < TARGET_SECONDS,
        "ratio": ratio <= TARGET_RATIO,
        "memory": report["max_rss_mb"] < TARGET_RSS_MB,
        "same rows": rows == hand_rows,
    }
    print(f"load average (1, 5, 15 min):  {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print_index_use(connection)
    print("targets:", ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in verdicts.items()))
    with connection.cursor() as cursor:  # leave the members for a rerun's comparison, not 2M recipients
        cursor.execute("TRUNCATE messaging_recipientevent, messaging_recipient RESTART IDENTITY CASCADE")
    SmsRequest.objects.filter(pk=request_id).delete()
    missed = [name for name, ok in verdicts.items() if not ok]
    if missed:
        print(f"MISSED: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--expand":
        expand_in_child()
        sys.exit(0)
    sys.exit(main())
