"""The gateway as it runs in production, on loopback: gunicorn, a Celery worker and beat on
PostgreSQL and Redis, handing SMS to the loopback SMSC (tests/peers/smsc.py) over SMPP.

`make load`, `make faults` and `make fuzz` start one of these on their own database and Redis
numbers, so that they disturb neither the development database nor a test run.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
BIN = Path(PY).parent
PG = os.environ.get("PROOF_PG", "postgres://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def readme_gunicorn() -> list[str]:
    """The gunicorn command of README's production section, as its words."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    line = next(line.strip() for line in section.splitlines() if line.strip().startswith("gunicorn "))
    return shlex.split(line.split("#", 1)[0])


def say(text: str) -> None:
    print(text, flush=True)


def exit_now(code: int) -> None:
    """End the process with `code` once its output is written, skipping interpreter shutdown: the
    in-process SMSC's native (smpp34) threads may outlive its event loop, and tearing Python down
    under them aborts the process (PyGILState_Release) after the verdict has been printed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class Smsc:
    """The loopback SMSC (tests/peers/smsc.py) in this process: `stats()` reads its counts, and its
    options script failures (drop_after, silent, reject).

    It writes message ids in one base (hex) in both submit_sm_resp and the receipt, as most SMSCs
    do. With the peer's default of hex in one and decimal in the other, a receipt whose decimal id
    is also the hex id of another message is applied to that other message (see
    docs/RELIABILITY.md, open defects)."""

    def __init__(self, *, receipts: bool = True, **options):
        from tests.peers.smsc import LoopbackSmsc

        options.setdefault("resp_id_format", "{:X}")
        options.setdefault("receipt_id_format", "{:X}")
        self.peer = LoopbackSmsc(receipts=receipts, **options).start()
        self.port = self.peer.port

    def stats(self) -> dict:
        return self.peer.stats()

    def stop(self) -> None:
        self.peer.stop()


class Stack:
    def __init__(
        self,
        name: str,
        *,
        redis_db: int = 12,
        web_workers: int | None = None,
        worker_concurrency: int = 2,
        smsc: Smsc | None = None,
        production_web: bool = False,
        extra_env: dict | None = None,
        pg: str = PG,
        redis: str = "redis://127.0.0.1:6379",
    ):
        self.name = name
        self.pg = pg
        self.pg_args = ["-h", pg.rsplit("@", 1)[1].split(":")[0], "-p", pg.rsplit(":", 1)[1], "-U", "postgres"]
        self.db_name = f"sms_proof_{name}"
        self.smsc = smsc
        self.web_port = free_port()
        self.web_workers = web_workers or max(2, (os.cpu_count() or 2) * 2)
        # README's production command (its worker class, workers and threads) instead of sync workers.
        self.production_web = production_web
        self.worker_concurrency = worker_concurrency
        self.processes: dict[str, subprocess.Popen] = {}
        self.log_dir = ROOT / "var" / "proof" / name
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.update(
            {
                "DATABASE_URL": f"{pg}/{self.db_name}",
                "CELERY_BROKER_URL": f"{redis}/{redis_db}",
                "CACHE_URL": f"{redis}/{redis_db + 1}",
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "SMSGW_VAR_DIR": str(self.log_dir),
                "PYTHONUNBUFFERED": "1",
                "DISPATCH_POLL_SECONDS": "0.5",
                "SWEEP_SECONDS": "5",
            }
        )
        self.env["SMS_BACKEND"] = "messaging.backends.console.ConsoleBackend"
        self.env.update(extra_env or {})
        self.base_url = f"http://127.0.0.1:{self.web_port}"

    # --- the database ------------------------------------------------------------------

    def manage(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            [PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def fresh_database(self) -> None:
        subprocess.run(["dropdb", *self.pg_args, "--if-exists", "--force", self.db_name], check=True)
        subprocess.run(["createdb", *self.pg_args, self.db_name], check=True)
        for url in (self.env["CELERY_BROKER_URL"], self.env["CACHE_URL"]):
            subprocess.run(["redis-cli", "-u", url, "flushdb"], check=False, capture_output=True)
        self.manage("migrate", "--noinput")
        if self.smsc is not None:
            self.provider_for_smsc()

    def provider_for_smsc(self, *, window: int = 100, binds: int = 1) -> None:
        """The loopback SMSC as a configured provider (CONTRACT section 8): its receipts are recorded."""
        properties = {
            "Host": "127.0.0.1",
            "Port": str(self.smsc.port),
            "System ID": "gateway",
            "Password": "secret",
            "Binds": str(binds),
            "Window": str(window),
            "Throughput": "0",
        }
        self.manage(
            "shell",
            "-c",
            "from messaging.models import Provider; "
            f"Provider.objects.create(name='loopback-smsc', kind='SMPP', order=1, properties={properties!r})",
        )

    def api_key(self, name: str = "load") -> str:
        # Load runs send far more than a new key's daily quota.
        return self.manage("create_api_key", name, "--daily-quota-parts", "0").strip().splitlines()[-1]

    def sql(self, query: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(f"{self.pg}/{self.db_name}", connect_timeout=5) as connection:
            return list(connection.execute(query))

    # --- the processes -----------------------------------------------------------------

    def _spawn(self, role: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{role}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[role] = process
        return process

    def start_web(self) -> None:
        if self.production_web:
            self._spawn("web", self._production_web_command())
            self.wait_for_web()
            return
        self._spawn(
            "web",
            [
                str(BIN / "gunicorn"),
                "smsgateway.wsgi",
                "-b",
                f"127.0.0.1:{self.web_port}",
                "-w",
                str(self.web_workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ],
        )
        self.wait_for_web()

    def _production_web_command(self) -> list[str]:
        """README's gunicorn command, bound to this stack's loopback port."""
        args = readme_gunicorn()[1:]
        bind = f"127.0.0.1:{self.web_port}"
        if "--bind" in args:
            args[args.index("--bind") + 1] = bind
        else:
            args += ["--bind", bind]
        return [str(BIN / "gunicorn"), *args, "--log-level", "warning"]

    def wait_for_web(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base_url}/api/v1/message/sms/1", timeout=2)
            except urllib.error.HTTPError:
                return  # it answers (401)
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not come up")

    def start_worker(self, role: str = "worker") -> subprocess.Popen:
        return self._spawn(
            role,
            [
                str(BIN / "celery"),
                "-A",
                "smsgateway",
                "worker",
                "-Q",
                "priority,default",
                "--concurrency",
                str(self.worker_concurrency),
                "--loglevel",
                "WARNING",
                "-n",
                f"{role}-{self.name}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
        )

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "smsgateway",
                "beat",
                "--loglevel",
                "WARNING",
                "-s",
                str(self.log_dir / "celerybeat-schedule"),
            ],
        )

    def start(self) -> Stack:
        self.start_web()
        self.start_worker()
        self.start_beat()
        return self

    def kill(self, role: str, sig: int = signal.SIGKILL) -> None:
        """Signal a role's whole process group (a worker's children die with it, as in a crash)."""
        process = self.processes.get(role)
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop(self) -> None:
        for role in list(self.processes):
            self.kill(role, signal.SIGTERM)
        self.processes.clear()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what was stored -----------------------------------------------------------------

    def recipient_states(self) -> dict[str, int]:
        return dict(self.sql("SELECT state, count(*) FROM messaging_recipient GROUP BY state"))

    def wait_final(
        self,
        *,
        timeout: float,
        stall_seconds: float = 90,
        final=("delivered", "undelivered", "rejected", "expired", "cancelled", "not attempted"),
    ) -> dict[str, int]:
        """Wait until no recipient is left in a non-final state, or until nothing has moved for
        `stall_seconds`; return the counts per state."""
        deadline = time.monotonic() + timeout
        states: dict[str, int] = {}
        moved_at = time.monotonic()
        while time.monotonic() < deadline:
            now_states = self.recipient_states()
            if now_states != states:
                states, moved_at = now_states, time.monotonic()
            if states and all(state in final for state in states):
                return states
            if time.monotonic() - moved_at > stall_seconds:
                return states
            time.sleep(1)
        return states


def post(url: str, body: bytes, *, content_type: str, key: str, timeout: float = 30) -> tuple[int, bytes, float]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type, "X-VoltMX-App-API-Key": key}
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.monotonic() - started
    except OSError as error:
        return 0, str(error).encode(), time.monotonic() - started
