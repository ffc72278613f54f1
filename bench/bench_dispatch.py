"""Dispatch rate from queued rows to a loopback SMSC with receipts, beside the bare SMPP client.

In one run: N queued recipient rows (bulk SQL) are sent by the dispatch service
(`dispatch_due_run`) in one and then in two worker processes, through an SMPP provider row
pointing at the loopback SMSC (tests/peers/smsc.py, smpp34's server, in its own process, sending
a receipt for every submit); and the same messages are pushed by a bare loop of the same client
(SmppBackend.send_messages in batches, no database), before and after the dispatch runs: the
faster of the two is the ceiling (the machine is shared and noisy). Printed: messages per
second from queued to submitted and from queued to delivered (receipts recorded), each beside
the ceiling, and whether the SMSC saw every message once.

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sms_bench_dispatch,
created and migrated if missing), BENCH_DISPATCH_N (default 20000), BENCH_SMPP_WINDOW (default
100), DISPATCH_BATCH_SIZE (default 500). Targets: 1,000 messages per second, half the ceiling.
"""

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/sms_bench_dispatch"
N = int(os.environ.get("BENCH_DISPATCH_N", "20000"))
WINDOW = int(os.environ.get("BENCH_SMPP_WINDOW", "100"))
BATCH = int(os.environ.get("DISPATCH_BATCH_SIZE", "500"))
TEXT = "Your verification code is 4821. It expires in 10 minutes."
TIMEOUT = float(os.environ.get("BENCH_DISPATCH_TIMEOUT", "300"))

ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "DJANGO_SETTINGS_MODULE": "smsgateway.settings",
    "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/11",
    "CACHE_URL": os.environ.get("CACHE_URL") or "redis://127.0.0.1:6379/12",
    "DISPATCH_BATCH_SIZE": str(BATCH),
    "LOG_LEVEL": "WARNING",
    "DEBUG": "false",
}

WORKER = """
import sys, time
import django
django.setup()
from messaging.services.dispatch import dispatch_due_run
print("ready", flush=True)
sys.stdin.readline()
total = 0
while True:
    report = dispatch_due_run(seconds=5)
    total += report.submitted
    if not report.more:
        break
print(total, flush=True)
sys.stdin.readline()
"""


def ensure_database():
    url = urlsplit(DATABASE_URL)
    if url.scheme.startswith("postgres"):
        import psycopg

        name = url.path.lstrip("/")
        admin_url = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=ENV, check=True)


class Smsc:
    """The loopback SMSC in its own process, so that it does not share a GIL with the clients."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.peers.smsc", "--receipts"],
            cwd=ROOT,
            env=ENV,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.process.stdout.readline().split()[1])

    def stats(self) -> dict:
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self):
        try:
            self.process.stdin.write("stop\n")
            self.process.stdin.flush()
            self.process.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


def phones(offset: int) -> list[str]:
    return [f"+2547{offset + i:08d}" for i in range(N)]


def bare_loop(smsc: Smsc, offset: int) -> tuple[float, float]:
    """The ceiling: the same client pushing the same messages in the same batches."""
    from messaging.backends.base import OutboundSms
    from messaging.backends.smpp import SmppBackend

    receipts = []
    backend = SmppBackend(
        port=smsc.port, system_id="bench", window=WINDOW, receipt_sink=receipts.extend, name="bench-smsc"
    )
    messages = [
        OutboundSms(key=i, phone=phone, text=TEXT, sender="SMSGW", encoding="gsm7")
        for i, phone in enumerate(phones(offset))
    ]
    started = time.perf_counter()
    sent = 0
    for first in range(0, N, BATCH):
        outcomes = backend.send_messages(messages[first : first + BATCH])
        sent += sum(1 for outcome in outcomes if outcome.error is None)
    submitted = time.perf_counter() - started
    deadline = time.monotonic() + TIMEOUT
    while len(receipts) < N and time.monotonic() < deadline:
        time.sleep(0.005)
    delivered = time.perf_counter() - started
    backend.close()
    if sent != N or len(receipts) != N:
        print(f"  bare loop: only {sent} submitted and {len(receipts)} receipts of {N}")
    return submitted, delivered


def queue_rows(offset: int) -> None:
    """N queued recipients of one message, due now, inserted by one INSERT ... SELECT."""
    from django.db import connection
    from django.utils import timezone

    from messaging.models import Provider, Recipient, SmsMessage, SmsRequest
    from messaging.text import text_layout

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE messaging_recipientevent, messaging_recipient, messaging_smsmessage, "
            "messaging_smsrequest, messaging_pendingreceipt CASCADE"
        )
    Provider.objects.all().delete()
    Provider.objects.create(
        name="bench-smsc",
        kind="SMPP",
        enabled=True,
        order=1,
        properties={
            "Host": "127.0.0.1",
            "Port": str(ENV["BENCH_SMSC_PORT"]),
            "System ID": "bench",
            "Password": "bench",
            "Window": str(WINDOW),
            "Binds": "1",
            "From": "SMSGW",
        },
    )
    now = timezone.now()
    layout = text_layout(TEXT)
    request = SmsRequest.objects.create(
        id=offset + 1, format="json", body_hash="bench", client="bench", check_user_existence=False
    )
    message = SmsMessage.objects.create(
        request=request,
        position=1,
        content=TEXT,
        start_at=now,
        encoding=layout.encoding,
        parts=layout.parts,
    )
    template = Recipient.objects.create(message=message, phone=f"+2547{offset:08d}", due_at=now)
    columns = [f.column for f in Recipient._meta.concrete_fields if f.column not in ("id", "phone")]
    listed = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO messaging_recipient ({listed}, phone) "
            f"SELECT {listed}, '+2547' || lpad((%s + n)::text, 8, '0') "
            "FROM messaging_recipient, generate_series(1, %s) AS n WHERE id = %s",
            [offset, N - 1, template.pk],
        )


def counts() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE state <> 'initial'), count(*) FILTER (WHERE state = 'delivered') "
            "FROM messaging_recipient"
        )
        return cursor.fetchone()


def dispatch_run(workers: int) -> tuple[float, float, int]:
    """Seconds from the start to all submitted and to all delivered, and rows still waiting."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER], cwd=ROOT, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(workers)
    ]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        submitted_at = delivered_at = None
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            submitted, delivered = counts()
            now = time.perf_counter()
            if submitted >= N and submitted_at is None:
                submitted_at = now - started
            if delivered >= N:
                delivered_at = now - started
                break
            time.sleep(0.02)
        for child in children:
            child.stdout.readline()
    finally:
        for child in children:
            try:
                child.stdin.write("exit\n")
                child.stdin.flush()
            except OSError:
                pass
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    submitted, delivered = counts()
    return submitted_at or float("nan"), delivered_at or float("nan"), N - delivered


def main() -> int:
    ensure_database()
    smsc = Smsc()
    ENV["BENCH_SMSC_PORT"] = str(smsc.port)
    os.environ.update({key: ENV[key] for key in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "CACHE_URL")})
    os.environ["CELERY_BROKER_URL"] = ENV["CELERY_BROKER_URL"]
    import django

    django.setup()
    print(f"dispatch to a loopback SMSC with receipts: {N} messages, window {WINDOW}, batches of {BATCH}")
    results = {}
    failures = []
    try:
        first = bare_loop(smsc, offset=0)
        for workers in (1, 2):
            queue_rows(offset=workers * 10_000_000)
            results[f"dispatch, {workers} worker{'s' if workers > 1 else ''}"] = dispatch_run(workers)
        # The machine is shared and noisy: the ceiling is the better of a run before and after.
        second = bare_loop(smsc, offset=30_000_000)
        submitted, delivered = min(first, second)
        results = {"bare client (ceiling)": (submitted, delivered, 0), **results}
        stats = smsc.stats()
    finally:
        smsc.stop()
    ceiling = N / results["bare client (ceiling)"][0]
    print(f"{'':28} {'submitted/s':>12} {'delivered/s':>12} {'of ceiling':>11}")
    for label, (submitted, delivered, missing) in results.items():
        rate = N / submitted
        print(f"{label:28} {rate:12,.0f} {N / delivered:12,.0f} {rate / ceiling:10.0%}")
        if missing:
            failures.append(f"{label}: {missing} rows not delivered")
        if math.isnan(rate) or math.isnan(N / delivered):
            failures.append(f"{label}: did not finish within {TIMEOUT} s (no rate)")
        elif not label.startswith("bare") and not (rate >= 1000 and rate >= ceiling / 2):
            failures.append(f"{label}: {rate:,.0f}/s is short of 1,000/s or half the ceiling")
    print(f"SMSC: {stats['taken']} submit_sm taken, {stats['duplicates']} duplicates, {stats['binds']} binds")
    if stats["taken"] != 4 * N or stats["duplicates"]:
        failures.append("the SMSC did not see every message exactly once")
    for failure in failures:
        print(f"SHORT: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
