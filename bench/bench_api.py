"""The send API under the production gunicorn command, driven by wrk, beside what it is measured
against, all in one run on PostgreSQL and Redis:

- the gateway, POST /api/v1/message/sms: one-recipient JSON, one-recipient XML, 100-recipient JSON;
- (a) a bare DRF endpoint that parses the body and answers a constant;
- (b) DRF with the API key lookup and one INSERT;
- (c) the durable floor: a plain Django view (raw SQL) that stores a request, a message and a
  recipient row in one statement;
- (d) Kannel's `sendsms` (bearerbox with its file store, smsbox, fakesmsc on loopback ports).

(a)-(c) come from bench/comparators.py through bench/comparator_settings.py, served by the same
gunicorn command as the gateway: the one README's production section gives, bound to loopback.
Every run is wrk at the same connections; printed: requests and recipients per second, p50 and
p99 latency, non-2xx answers and socket errors, and the rows each stored endpoint left in the
database (counted, not taken from wrk). Ratios: one-recipient JSON to the floor (target 0.7x, and
p99 under 50 ms), 100-recipient recipients per second to Kannel's SMS per second (target 2x). Exits
1 when a target is missed, a request failed or an answer has no rows behind it, saying why.

wrk, kannel and kannel-extras (Debian) are installed with apt-get when missing.

Environment: BENCH_API_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sms_bench_api; its
name must contain "bench", since its request tables are emptied; created and migrated if missing),
BENCH_API_REDIS (default redis://127.0.0.1:6379, db 9 for the broker and 10 for the cache, or the two
numbers of BENCH_API_REDIS_DBS),
BENCH_SECONDS per run (default 15), BENCH_WARMUP_SECONDS (default 3), BENCH_CONNECTIONS (default 16),
BENCH_WRK_THREADS (default 2), BENCH_API_QUOTA_PARTS the bench key's daily quota (default
1,000,000,000: the quota check runs; 0 is no quota, and skips it), BENCH_API_GUNICORN another
gunicorn command than README's to measure (a worker class or count), BENCH_API_QUICK=1 to run only
the one-recipient JSON case and the durable floor (for trying a change; it checks only their targets).
"""

import json
import math
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load.stack import readme_gunicorn  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_API_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/sms_bench_api"
REDIS = (os.environ.get("BENCH_API_REDIS") or "redis://127.0.0.1:6379").rstrip("/")
BROKER_DB, CACHE_DB = (int(n) for n in (os.environ.get("BENCH_API_REDIS_DBS") or "9,10").split(","))
BROKER_URL = f"{REDIS}/{BROKER_DB}"
CACHE_URL = f"{REDIS}/{CACHE_DB}"
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))
SEND_PATH = "/api/v1/message/sms?checkUserExistence=false"
PHONES = [f"+1415555{n:04d}" for n in range(100, 200)]
CONTENT = "Your bench code is 123456"
KANNEL_PACKAGES = {"wrk": "wrk", "bearerbox": "kannel", "smsbox": "kannel"}
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"

QUOTA_PARTS = int(os.environ.get("BENCH_API_QUOTA_PARTS", "1000000000"))
QUICK = os.environ.get("BENCH_API_QUICK", "") not in ("", "0")
TARGET_FLOOR_RATIO = 0.7
TARGET_P99_MS = 50.0
TARGET_KANNEL_RATIO = 2.0

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

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, '
    .. '"timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


# ---------------------------------------------------------------------------------------------
# Tools, database, servers


def ensure_tools() -> None:
    """wrk and Kannel from Debian, installed when missing."""
    missing = sorted({pkg for tool, pkg in KANNEL_PACKAGES.items() if shutil.which(tool) is None})
    if not os.path.exists(FAKESMSC):
        missing.append("kannel-extras")
    if not missing:
        return
    print(f"installing {' '.join(missing)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def ensure_database() -> None:
    """Create the bench database when missing, migrate it, and empty its request tables, so that
    every run starts from the same empty tables and its row counts are its own."""
    import psycopg

    from bench.common import bench_database_ensure

    bench_database_ensure(DATABASE_URL, bench="bench_api (BENCH_API_DATABASE_URL)", env=SERVER_ENV)
    with psycopg.connect(DATABASE_URL.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(
            "TRUNCATE messaging_recipientevent, messaging_recipient, messaging_smsmessage, messaging_smsrequest "
            "RESTART IDENTITY CASCADE"
        )
        conn.execute("VACUUM ANALYZE messaging_recipient")


def prepare_key() -> str:
    """An API key with no practical rate limit and a daily quota of QUOTA_PARTS message parts: the
    limiter and the quota check run on every request, as for a partner whose quota was raised to
    its volume (the default quota, 10,000 parts a day, would refuse a run within seconds)."""
    os.environ.update({k: SERVER_ENV[k] for k in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SMSGW_VAR_DIR")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgateway.settings")
    import django

    django.setup()
    from django.db import connection

    from messaging.models import ApiKey
    from messaging.services.api_keys import api_key_create

    ApiKey.objects.filter(name="bench").delete()
    _, raw_key = api_key_create(name="bench", rate_limit_per_minute=1_000_000_000, daily_quota_parts=QUOTA_PARTS)
    connection.close()
    return raw_key


def row_counts() -> dict[str, int]:
    import psycopg

    tables = ("smsrequest", "smsmessage", "recipient")
    counts = ", ".join(f"(SELECT COUNT(*) FROM messaging_{table})" for table in tables)
    with psycopg.connect(DATABASE_URL.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        # One statement, one snapshot: the three counts agree with each other.
        return dict(zip(tables, conn.execute(f"SELECT {counts}").fetchone(), strict=True))  # noqa: S608


def production_gunicorn() -> list[str]:
    """The gunicorn command of README's production section, as its words (BENCH_API_GUNICORN, a
    whole gunicorn command, measures another one beside it)."""
    if os.environ.get("BENCH_API_GUNICORN"):
        return shlex.split(os.environ["BENCH_API_GUNICORN"])
    return readme_gunicorn()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on {port} within {seconds:.0f} s")


def start_gunicorn(words: list[str], settings_module: str, log) -> tuple[subprocess.Popen, int]:
    port = free_port()
    args = list(words[1:])
    if "--bind" in args:
        args[args.index("--bind") + 1] = f"127.0.0.1:{port}"
    else:
        args += ["--bind", f"127.0.0.1:{port}"]
    command = [sys.executable, "-m", "gunicorn", *args, "--config", "python:bench.gunicorn_ready"]
    ready_file = Path(VAR_DIR) / f"ready-{port}"
    env = {**SERVER_ENV, "DJANGO_SETTINGS_MODULE": settings_module, "BENCH_READY_FILE": str(ready_file)}
    workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 1
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
    try:
        wait_port(port, server, "gunicorn")
        # The master listens at once; each worker then imports the application, seconds on a busy machine.
        deadline = time.monotonic() + 120
        while not ready_file.exists() or len(ready_file.read_text().split()) < workers:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn's {workers} workers did not all load the application")
            time.sleep(0.2)
    except SystemExit:
        stop(server)
        raise
    return server, port


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Kannel:
    """bearerbox with its file store, smsbox and fakesmsc, on loopback ports, config in a temp dir."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="bench-kannel-"))
        self.admin, self.box, self.smsc, self.sendsms = (free_port() for _ in range(4))
        conf = self.dir / "kannel.conf"
        conf.write_text(
            f"""group = core
admin-port = {self.admin}
admin-password = bench
status-password = bench
admin-allow-ip = "127.0.0.1"
smsbox-port = {self.box}
box-allow-ip = "127.0.0.1"
log-file = "{self.dir}/bearerbox.log"
log-level = 2
store-type = file
store-location = "{self.dir}/kannel.store"
store-dump-freq = 5

group = smsc
smsc = fake
smsc-id = fake
port = {self.smsc}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box}
sendsms-port = {self.sendsms}
log-file = "{self.dir}/smsbox.log"
log-level = 2

group = sendsms-user
username = bench
password = bench

group = sms-service
keyword = default
text = "No service"
"""
        )
        self.log = open(self.dir / "console.log", "ab")  # noqa: SIM115
        self.processes = []
        try:
            self._start(conf)
        except BaseException:
            self.stop()
            raise

    def _start(self, conf: Path) -> None:
        self._spawn(["bearerbox", "-v", "2", str(conf)])
        wait_port(self.admin, self.processes[-1], "bearerbox")
        self._spawn(["smsbox", "-v", "2", str(conf)])
        wait_port(self.sendsms, self.processes[-1], "smsbox")
        # -m 0: fakesmsc sends no messages of its own, only takes what bearerbox hands it.
        self._spawn([FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc), "-m", "0", "-v", "2"], stdin=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while "(online" not in self.status():
            if time.monotonic() > deadline:
                raise SystemExit(f"fakesmsc did not connect to bearerbox; see {self.dir}")
            time.sleep(0.2)

    def _spawn(self, command, stdin=subprocess.DEVNULL):
        self.processes.append(
            subprocess.Popen(
                command, cwd=self.dir, stdin=stdin, stdout=self.log, stderr=self.log, start_new_session=True
            )
        )

    def status(self) -> str:
        url = f"http://127.0.0.1:{self.admin}/status.txt?password=bench"
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310
            return answer.read().decode()

    def sms_counts(self) -> tuple[int, int, int]:
        """SMS sent (handed to the SMSC), queued, and held in the store, from bearerbox's status."""
        text = self.status()
        sent = re.search(r"SMS: received \d+ \(\d+ queued\), sent (\d+) \((\d+) queued\), store size (-?\d+)", text)
        return (int(sent.group(1)), int(sent.group(2)), int(sent.group(3))) if sent else (0, 0, 0)

    def sent(self) -> dict[str, int]:
        """SMS handed to fakesmsc, once bearerbox's queue has drained (up to 30 s)."""
        deadline = time.monotonic() + 30
        sent, queued, _ = self.sms_counts()
        while queued and time.monotonic() < deadline:
            time.sleep(0.2)
            sent, queued, _ = self.sms_counts()
        return {"recipient": sent}

    def url(self) -> str:
        query = urlencode({"username": "bench", "password": "bench", "from": "12345", "to": PHONES[0], "text": CONTENT})
        return f"http://127.0.0.1:{self.sendsms}/cgi-bin/sendsms?{query}"

    def stop(self):
        for process in reversed(self.processes):
            stop(process)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Bodies and wrk


def json_body(count: int) -> bytes:
    recipients = [{"mobile": phone} for phone in PHONES[:count]]
    message = {
        "priorityService": "false",
        "content": CONTENT,
        "recipients": {"recipient": recipients[0] if count == 1 else recipients},
    }
    return json.dumps({"smsServiceRequest": {"messages": {"message": message}}}).encode()


def xml_body(count: int) -> bytes:
    recipients = "".join(f'<recipient mobile="{phone}"/>' for phone in PHONES[:count])
    return (
        "<smsServiceRequest><messages><message><priorityService>false</priorityService>"
        f"<recipients>{recipients}</recipients><content>{CONTENT}</content>"
        "</message></messages></smsServiceRequest>"
    ).encode()


def smoke(url: str, method: str, body: bytes | None, headers: dict) -> None:
    """One request before the run: the endpoint answers 2xx, or the bench stops saying what it said."""
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            answer.read()
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{method} {url} answered {error.code}: {error.read()[:300]!r}") from None


def wrk(url: str, body: bytes | None, headers: dict, seconds: float, script_dir: Path) -> dict:
    lines = "\n".join(f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items())
    script = script_dir / f"wrk-{time.monotonic_ns()}.lua"
    if body is None:
        script.write_text(WRK_SCRIPT.replace('wrk.method = "POST"\nwrk.body = [==[{body}]==]\n', "").format(headers=""))
    else:
        script.write_text(WRK_SCRIPT.format(body=body.decode(), headers=lines))
    command = ["wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds:g}s", "--timeout", "10s"]
    result = subprocess.run([*command, "-s", str(script), url], capture_output=True, text=True, check=False)
    found = re.search(r"^WRK_RESULT (.*)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({result.returncode}): {result.stdout[-500:]} {result.stderr[-500:]}")
    row = json.loads(found.group(1))
    seconds_run = row["duration_us"] / 1e6
    row["ok"] = row["requests"] - row["status"]
    row["per_second"] = row["ok"] / seconds_run
    row["socket_errors"] = row["connect"] + row["read"] + row["write"] + row["timeout"]
    if not row["requests"]:
        row["p50_us"] = row["p99_us"] = math.nan
    return row


def run(name, url, body, headers, recipients, script_dir, counted=None) -> dict:
    """Warm-up (not counted), then the measured wrk run; rows stored during it counted when asked."""
    method = "POST" if body is not None else "GET"
    smoke(url, method, body, headers)
    # Every worker's first request loads what Django loads lazily (a second and more on a busy
    # machine): two rounds of concurrent requests reach every worker before anything is timed.
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        list(pool.map(lambda _: smoke(url, method, body, headers), range(2 * CONNECTIONS)))
    if WARMUP_SECONDS:
        wrk(url, body, headers, WARMUP_SECONDS, script_dir)
    before = counted() if counted else None
    row = wrk(url, body, headers, SECONDS, script_dir)
    row.update(name=name, recipients=recipients, recipients_per_second=row["per_second"] * recipients)
    if counted:
        time.sleep(0.5)  # the answers in flight when wrk stopped
        after = counted()
        row["stored"] = {key: after[key] - before[key] for key in after}
    print(
        f"  {name}: {row['per_second']:,.0f}/s, p99 {row['p99_us'] / 1000:.1f} ms, "
        f"{row['status']} non-2xx, {row['socket_errors']} socket errors (load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return row


def purge_broker() -> None:
    """Drop the wake-ups the send API published: no worker ran to take them."""
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()
    redis.Redis.from_url(CACHE_URL).flushdb()


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ensure_tools()
    ensure_database()
    purge_broker()
    raw_key = prepare_key()
    words = production_gunicorn()
    script_dir = Path(VAR_DIR)
    log = open(script_dir / "gunicorn.log", "ab")  # noqa: SIM115
    load_before = os.getloadavg()
    print(
        f"wrk {WRK_THREADS} threads, {CONNECTIONS} connections, {SECONDS:g} s a run after {WARMUP_SECONDS:g} s "
        f"warm-up; {os.cpu_count()} cores; load average before {' '.join(f'{x:.1f}' for x in load_before)}\n"
        f"server: {' '.join(words)} (bound to loopback); PostgreSQL {urlsplit(DATABASE_URL).path.lstrip('/')}, "
        f"Redis {BROKER_URL} (broker), {CACHE_URL} (cache); the key's daily quota {QUOTA_PARTS:,} parts",
        flush=True,
    )
    key_header = {"X-VoltMX-App-API-Key": raw_key}
    as_json = {"Content-Type": "application/json"}
    as_xml = {"Content-Type": "application/xml"}
    body1, body100, xml1 = json_body(1), json_body(100), xml_body(1)
    rows = []

    server, port = start_gunicorn(words, "smsgateway.settings", log)
    try:
        url = f"http://127.0.0.1:{port}{SEND_PATH}"
        rows.append(run("gateway JSON, 1 recipient", url, body1, {**as_json, **key_header}, 1, script_dir, row_counts))
        if not QUICK:
            rows.append(run("gateway XML, 1 recipient", url, xml1, {**as_xml, **key_header}, 1, script_dir, row_counts))
            hundred_headers = {**as_json, **key_header}
            rows.append(run("gateway JSON, 100 recipients", url, body100, hundred_headers, 100, script_dir, row_counts))
    finally:
        stop(server)
    purge_broker()

    server, port = start_gunicorn(words, "bench.comparator_settings", log)
    try:
        base = f"http://127.0.0.1:{port}"
        if not QUICK:
            rows.append(run("(a) bare DRF, constant answer", f"{base}/bare", body1, as_json, 1, script_dir))
            rows.append(
                run(
                    "(b) DRF, key lookup + 1 INSERT",
                    f"{base}/key-insert",
                    body1,
                    {**as_json, **key_header},
                    1,
                    script_dir,
                )
            )
        rows.append(run("(c) durable floor, 1 statement", f"{base}/floor", body1, as_json, 1, script_dir, row_counts))
    finally:
        stop(server)
    log.close()

    if not QUICK:
        kannel = Kannel()
        try:
            rows.append(run("(d) Kannel sendsms, file store", kannel.url(), None, {}, 1, script_dir, kannel.sent))
        finally:
            kannel.stop()

    verdict = report(rows, load_before)
    shutil.rmtree(VAR_DIR, ignore_errors=True)  # kept when the run broke off: its gunicorn.log says why
    return verdict


def report(rows: list[dict], load_before) -> int:
    by_name = {row["name"]: row for row in rows}
    print(
        f"\n{'endpoint':<34}{'requests/s':>11}{'recipients/s':>13}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'answered':>10}{'non-2xx':>8}{'socket':>7}  rows stored (requests/messages/recipients)"
    )
    failures = []
    for row in rows:
        stored = row.get("stored")
        stored_text = ""
        if stored and "smsrequest" in stored:
            stored_text = f"{stored['smsrequest']}/{stored['smsmessage']}/{stored['recipient']}"
        elif stored:
            stored_text = f"bearerbox handed {stored['recipient']} SMS to fakesmsc"
        print(
            f"{row['name']:<34}{row['per_second']:>11,.0f}{row['recipients_per_second']:>13,.0f}"
            f"{row['p50_us'] / 1000:>8.1f}{row['p99_us'] / 1000:>8.1f}{row['ok']:>10}{row['status']:>8}"
            f"{row['socket_errors']:>7}  {stored_text}"
        )
        if row["status"]:
            failures.append(f"{row['name']}: {row['status']} answers were not 2xx")
        if row["socket_errors"]:
            failures.append(
                f"{row['name']}: socket errors (connect {row['connect']}, read {row['read']}, "
                f"write {row['write']}, timeout {row['timeout']})"
            )
        if row["ok"] == 0:
            failures.append(f"{row['name']}: no request answered")
        # Every 2xx must have its rows; wrk stops with up to one request per connection in flight.
        if stored and not row["ok"] * row["recipients"] <= stored["recipient"]:
            failures.append(f"{row['name']}: {row['ok']} requests answered but {stored['recipient']} recipient rows")

    nothing = {"per_second": math.nan, "recipients_per_second": math.nan}
    gateway = by_name["gateway JSON, 1 recipient"]
    floor = by_name["(c) durable floor, 1 statement"]
    hundred = by_name.get("gateway JSON, 100 recipients", nothing)
    kannel = by_name.get("(d) Kannel sendsms, file store", nothing)
    bare = by_name.get("(a) bare DRF, constant answer", nothing)
    floor_ratio = gateway["per_second"] / floor["per_second"] if floor["per_second"] else math.nan
    kannel_ratio = hundred["recipients_per_second"] / kannel["per_second"] if kannel["per_second"] else math.nan
    bare_ratio = gateway["per_second"] / bare["per_second"] if bare["per_second"] else math.nan
    p99 = gateway["p99_us"] / 1000
    print()
    print(f"gateway 1-recipient JSON / bare DRF:          {bare_ratio:.2f}x")
    print(
        f"gateway 1-recipient JSON / durable floor:     {floor_ratio:.2f}x (target {TARGET_FLOOR_RATIO}x), "
        f"p99 {p99:.1f} ms (target under {TARGET_P99_MS:.0f} ms)"
    )
    print(f"gateway 100-recipient recipients/s / Kannel SMS/s: {kannel_ratio:.2f}x (target {TARGET_KANNEL_RATIO:.0f}x)")
    load_after = os.getloadavg()
    print(
        f"load average before {' '.join(f'{x:.1f}' for x in load_before)}, "
        f"after {' '.join(f'{x:.1f}' for x in load_after)} on {os.cpu_count()} cores"
    )
    if not floor_ratio >= TARGET_FLOOR_RATIO:
        failures.append(f"1-recipient JSON at {floor_ratio:.2f}x the durable floor, short of {TARGET_FLOOR_RATIO}x")
    if not p99 < TARGET_P99_MS:
        failures.append(f"1-recipient JSON p99 {p99:.1f} ms, not under {TARGET_P99_MS:.0f} ms")
    if not QUICK and not kannel_ratio >= TARGET_KANNEL_RATIO:
        failures.append(
            f"100-recipient JSON at {kannel_ratio:.2f}x Kannel's SMS per second, short of {TARGET_KANNEL_RATIO:.0f}x"
        )
    for failure in failures:
        print(f"MISSED: {failure}")
    print("targets: all met" if not failures else f"targets: {len(failures)} missed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
