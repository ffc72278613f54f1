"""What the fault scripts share: private Redis and PostgreSQL instances that a script may restart
without disturbing anything else on the machine, a steady stream of partner requests, bulk sends,
and the checks of what was stored."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load.stack import Smsc, Stack, exit_now, free_port, post, say  # noqa: E402,F401

FINAL = {"delivered", "undelivered", "rejected", "expired", "cancelled", "not attempted"}
AREA_CODES = ["201", "212", "213", "305", "312", "415", "617", "646", "702", "718"]
PHONES = [f"+1{area}555{n:04d}" for area in AREA_CODES for n in range(100, 1100)]
PG_VERSION = sorted(os.listdir("/etc/postgresql"))[-1] if os.path.isdir("/etc/postgresql") else "15"
PRIVATE_PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "5439"))


InProcessSmsc = Smsc


class PrivateRedis:
    """A Redis of our own, with append-only persistence (as production runs it)."""

    def __init__(self):
        self.port = free_port()
        self.dir = ROOT / "var" / "proof" / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            if (
                subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout.strip()
                == b"PONG"
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("private redis did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivatePostgres:
    """A PostgreSQL cluster of our own ("proof", port 5439), restarted by pg_ctlcluster like the main one."""

    def __init__(self):
        if not Path(f"/etc/postgresql/{PG_VERSION}/proof").exists():
            subprocess.run(
                ["pg_createcluster", PG_VERSION, "proof", "-p", str(PRIVATE_PG_PORT), "--", "--auth=trust"],
                check=True,
                capture_output=True,
            )
        self.ctl("start", check=False)
        self.wait_up()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{PRIVATE_PG_PORT}"

    def ctl(self, action: str, check: bool = True) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, "proof", action],
            check=check,
            capture_output=True,
        )

    def wait_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (
                subprocess.run(
                    ["pg_isready", "-h", "127.0.0.1", "-p", str(PRIVATE_PG_PORT)], capture_output=True
                ).returncode
                == 0
            ):
                return
            time.sleep(0.2)
        raise RuntimeError("private postgres did not come up")

    def stop_cluster(self) -> None:
        self.ctl("stop", check=False)


def json_send(phones: list[str], *, content: str, start_ms: int = 0) -> bytes:
    recipients = [{"mobile": phone} for phone in phones]
    message = {
        "priorityService": "false",
        "content": content,
        "recipients": {"recipient": recipients},
        "startTimestamp": str(start_ms),
    }
    return json.dumps({"smsServiceRequest": {"messages": {"message": message}}}).encode()


def send_url(stack: Stack) -> str:
    return f"{stack.base_url}/api/v1/message/sms?checkUserExistence=false"


@dataclass
class Answer:
    at: float
    status: int
    body: bytes
    seconds: float


@dataclass
class SteadyPartner:
    """Posts one-recipient requests back to back from a thread, and keeps every answer."""

    stack: Stack
    key: str
    answers: list[Answer] = field(default_factory=list)
    accepted: dict[int, int] = field(default_factory=dict)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            body = json_send([PHONES[n % len(PHONES)]], content=f"steady {n} {time.time_ns()}")
            status, text, seconds = post(
                send_url(self.stack), body, content_type="application/json", key=self.key, timeout=30
            )
            self.answers.append(Answer(time.monotonic(), status, text, seconds))
            if status == 200:
                self.accepted[int(json.loads(text)["id"])] = 1
            elif status == 0:
                time.sleep(0.05)

    def start(self) -> SteadyPartner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.at <= end]


def bulk_send(stack: Stack, key: str, total: int, *, per_request: int = 10_000, label: str = "bulk") -> dict[int, int]:
    accepted = {}
    sent = 0
    while sent < total:
        count = min(per_request, total - sent)
        body = json_send(PHONES[:count], content=f"{label} {sent} {time.time_ns()}")
        status, text, _ = post(send_url(stack), body, content_type="application/json", key=key, timeout=120)
        if status != 200:
            raise RuntimeError(f"bulk send refused: {status} {text[:200]!r}")
        accepted[int(json.loads(text)["id"])] = count
        sent += count
    return accepted


def stored_recipients(stack: Stack) -> dict[int, int]:
    return dict(
        stack.sql(
            "SELECT m.request_id, count(c.id) FROM messaging_smsmessage m "
            "LEFT JOIN messaging_recipient c ON c.message_id = m.id GROUP BY m.request_id"
        )
    )


def lost(accepted: dict[int, int], stored: dict[int, int]) -> int:
    return sum(max(0, count - stored.get(request_id, 0)) for request_id, count in accepted.items())


def half_stored(stack: Stack) -> int:
    """Requests stored without their messages, or messages without a recipient (listed recipients only)."""
    return stack.sql(
        "SELECT count(*) FROM messaging_smsrequest r WHERE NOT EXISTS "
        "(SELECT 1 FROM messaging_smsmessage m JOIN messaging_recipient c ON c.message_id = m.id "
        "WHERE m.request_id = r.id)"
    )[0][0]


def verdict(name: str, checks: dict[str, bool]) -> int:
    for what, ok in checks.items():
        say(f"  {'ok  ' if ok else 'FAIL'} {what}")
    passed = all(checks.values())
    say(f"{name}: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1
