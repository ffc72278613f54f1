"""Throughput and latency of POST /api/v1/message/sms under gunicorn on PostgreSQL, beside a bare
DRF endpoint that parses the same body and answers a constant, measured in the same run.

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sms_bench, created and
migrated if missing), CELERY_BROKER_URL (default redis://127.0.0.1:6379/9) and CACHE_URL
(default redis://127.0.0.1:6379/10) as production would have them; BENCH_SECONDS per endpoint
(default 15), BENCH_CLIENTS client processes (default 4), BENCH_WORKERS gunicorn workers
(default 2 x cores), BENCH_THREADS threads per worker (default 4).
"""

import http.client
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/sms_bench"
BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/9"
CACHE_URL = os.environ.get("CACHE_URL") or "redis://127.0.0.1:6379/10"
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
WARMUP_SECONDS = 2.0
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1))))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
SEND_PATH = "/api/v1/message/sms"
VAR_DIR = tempfile.mkdtemp(prefix="bench-api-")

SERVER_ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "CELERY_BROKER_URL": BROKER_URL,
    "CACHE_URL": CACHE_URL,
    "SMSGW_VAR_DIR": VAR_DIR,
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "ALLOWED_HOSTS": "127.0.0.1",
}


def ensure_database():
    """Create the bench database if it is missing (PostgreSQL only), then migrate it."""
    url = urlsplit(DATABASE_URL)
    if url.scheme.startswith("postgres"):
        import psycopg

        name = url.path.lstrip("/")
        admin_url = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=SERVER_ENV, check=True
    )


def prepare_data():
    """One reachable member and an API key with no practical rate limit. The requests of earlier runs
    stay: other benches share this database, and the send path does not depend on them."""
    os.environ.update({k: SERVER_ENV[k] for k in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SMSGW_VAR_DIR")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgateway.settings")
    import django

    django.setup()
    from django.db import connection

    from audiences.models import Member
    from messaging.models import ApiKey
    from messaging.services.api_keys import api_key_create

    member, _ = Member.objects.get_or_create(
        mobile="+14155550100", defaults={"first_name": "Bench", "last_name": "Mark", "country": "United States"}
    )
    Member.objects.filter(pk=member.pk).update(active=True, sms_subscription=True)
    ApiKey.objects.filter(name="bench", requests__isnull=True).delete()  # keys of runs that stored nothing
    _, raw_key = api_key_create(name="bench", rate_limit_per_minute=1_000_000_000, daily_quota_parts=0)
    body = json.dumps(
        {
            "smsServiceRequest": {
                "messages": {
                    "message": {
                        "priorityService": "false",
                        "recipients": {"recipient": {"id": str(member.id)}},
                        "content": "Your bench code is 123456",
                    }
                }
            }
        }
    ).encode()
    connection.close()
    return raw_key, body


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(settings_module):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "smsgateway.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "gthread",
        "--threads",
        str(THREADS),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    env = {**SERVER_ENV, "DJANGO_SETTINGS_MODULE": settings_module}
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server, port
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not start within 30 s")


def stop(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def client_loop(port, headers, body, start_at, stop_at, results):
    """One client: keep-alive POSTs until stop_at; latencies of accepted answers after start_at."""
    latencies, errors = [], 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while True:
        began = time.monotonic()
        if began >= stop_at:
            break
        try:
            connection.request("POST", SEND_PATH, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            ok = response.status == 200 and b"Request Queued. " in answer
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            ok = False
        ended = time.monotonic()
        if began >= start_at:
            if ok:
                latencies.append(ended - began)
            else:
                errors += 1
    connection.close()
    results.put((latencies, errors))


def measure(port, headers, body):
    # Warm up every gunicorn worker (imports, first connection to the database) before timing.
    start_at = time.monotonic() + WARMUP_SECONDS
    stop_at = start_at + SECONDS
    results = multiprocessing.Queue()
    clients = [
        multiprocessing.Process(target=client_loop, args=(port, headers, body, start_at, stop_at, results))
        for _ in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    gathered = [results.get(timeout=SECONDS + WARMUP_SECONDS + 60) for _ in clients]
    for client in clients:
        client.join(timeout=10)
    latencies = sorted(latency for part, _ in gathered for latency in part)
    errors = sum(count for _, count in gathered)
    if not latencies:
        return {
            "accepted": 0,
            "per_second": 0.0,
            "median_ms": float("nan"),
            "mean_ms": float("nan"),
            "p99_ms": float("nan"),
            "errors": errors,
        }
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return {
        "accepted": len(latencies),
        "per_second": len(latencies) / SECONDS,
        "median_ms": statistics.median(latencies) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "p99_ms": p99 * 1000,
        "errors": errors,
    }


def run_endpoint(settings_module, headers, body):
    server, port = start_gunicorn(settings_module)
    try:
        return measure(port, headers, body)
    finally:
        stop(server)


def purge_broker():
    """Drop the wake-ups the send API published: no worker ran to take them."""
    if BROKER_URL.startswith("redis://"):
        import redis

        redis.Redis.from_url(BROKER_URL).delete("default", "priority")


def main():
    ensure_database()
    raw_key, body = prepare_data()
    json_headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    print(
        f"one-recipient JSON requests, {len(body)} bytes; gunicorn gthread {WORKERS} workers x {THREADS} threads; "
        f"{CLIENTS} client processes; {SECONDS:.0f} s each after {WARMUP_SECONDS:.0f} s warm-up; "
        f"{os.cpu_count()} cores; database {urlsplit(DATABASE_URL).scheme}",
        flush=True,
    )
    send = run_endpoint("smsgateway.settings", {**json_headers, "X-VoltMX-App-API-Key": raw_key}, body)
    bare = run_endpoint("bench.bare_settings", json_headers, body)
    purge_broker()

    print(
        f"{'endpoint':<34}{'accepted/s':>12}{'median ms':>11}{'mean ms':>9}{'p99 ms':>9}{'accepted':>10}{'errors':>8}"
    )
    for name, row in (("POST /api/v1/message/sms (stored)", send), ("bare DRF parse, constant answer", bare)):
        print(
            f"{name:<34}{row['per_second']:>12.0f}{row['median_ms']:>11.1f}{row['mean_ms']:>9.1f}{row['p99_ms']:>9.1f}"
            f"{row['accepted']:>10}{row['errors']:>8}"
        )
    ratio = send["per_second"] / bare["per_second"] if bare["per_second"] else float("nan")
    print(f"ratio send/bare: {ratio:.2f}")
    return 0 if send["accepted"] and bare["accepted"] else 1


if __name__ == "__main__":
    sys.exit(main())
