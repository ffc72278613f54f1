"""`make load`: locust, headless, against gunicorn on PostgreSQL and Redis with a real Celery worker
handing SMS over SMPP to the loopback SMSC. Afterwards every id answered 200 must exist with all
its recipients, and every recipient must reach a final state (its receipt from the SMSC).

Prints requests per second, p50 and p99 latency, and the count lost (it must be zero).
Knobs: LOAD_SECONDS (60), LOAD_USERS (closed-loop users, 16), LOAD_DRAIN_SECONDS (900).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load.stack import BIN, ROOT, Smsc, Stack, exit_now, say  # noqa: E402

SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
USERS = int(os.environ.get("LOAD_USERS", "16"))
DRAIN_SECONDS = int(os.environ.get("LOAD_DRAIN_SECONDS", "900"))


def run_locust(stack: Stack, key: str, ids_file: Path, csv_prefix: Path) -> None:
    env = dict(os.environ, LOAD_API_KEY=key, LOAD_IDS_FILE=str(ids_file))
    subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "load" / "locustfile.py"),
            "--headless",
            "-u",
            str(USERS),
            "-r",
            str(USERS),
            "-t",
            f"{SECONDS}s",
            "--host",
            stack.base_url,
            "--csv",
            str(csv_prefix),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        check=False,
    )


def locust_totals(csv_prefix: Path) -> dict[str, dict[str, str]]:
    with open(f"{csv_prefix}_stats.csv") as stats:
        return {row["Name"]: row for row in csv.DictReader(stats)}


def main() -> int:
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    smsc = Smsc(receipts=True)
    # The web as README's production command runs it (gthread), not the stack's default sync workers.
    stack = Stack("load", smsc=smsc, worker_concurrency=2, production_web=True)
    out = stack.log_dir
    ids_file, csv_prefix = out / "ids.txt", out / "locust"
    ids_file.unlink(missing_ok=True)
    try:
        stack.fresh_database()
        key = stack.api_key("load")
        stack.start()
        say(
            f"load: {USERS} closed-loop users for {SECONDS} s against README's gunicorn command, "
            f"1 Celery worker (concurrency {stack.worker_concurrency}), SMPP to the loopback SMSC"
        )
        run_locust(stack, key, ids_file, csv_prefix)
        totals = locust_totals(csv_prefix)
        drain_started = time.monotonic()
        states = stack.wait_final(timeout=DRAIN_SECONDS)
        drain_seconds = time.monotonic() - drain_started

        answered = {}
        for line in ids_file.read_text().split("\n"):
            if line.strip():
                request_id, count = line.split()
                answered[int(request_id)] = int(count)
        stored = {
            request_id: count
            for request_id, count in stack.sql(
                "SELECT r.id, count(c.id) FROM messaging_smsrequest r "
                "JOIN messaging_smsmessage m ON m.request_id = r.id "
                "JOIN messaging_recipient c ON c.message_id = m.id GROUP BY r.id"
            )
        }
        lost_requests = [rid for rid in answered if rid not in stored]
        lost_recipients = sum(max(0, count - stored.get(rid, 0)) for rid, count in answered.items())
        expected_recipients = sum(answered.values())
        not_final = {s: n for s, n in states.items() if s not in ("delivered", "undelivered", "rejected")}
        smsc_stats = smsc.stats()
        outcome_unknown = stack.sql("SELECT count(*) FROM messaging_recipient WHERE outcome_unknown")[0][0]

        agg = totals["Aggregated"]
        by_name = Counter({name: int(row["Request Count"]) for name, row in totals.items() if name != "Aggregated"})
        say("")
        say(f"load results ({started_at}, {os.cpu_count()} cores)")
        say(f"  requests: {agg['Request Count']} in {SECONDS} s, failures {agg['Failure Count']}")
        for name, count in sorted(by_name.items()):
            say(f"    {name}: {count}")
        say(f"  requests per second: {float(agg['Requests/s']):.1f}")
        say(f"  latency p50 {agg['50%']} ms, p99 {agg['99%']} ms, max {float(agg['Max Response Time']):.0f} ms")
        say(
            f"  recipients accepted: {expected_recipients}; "
            f"recipients per second accepted: {expected_recipients / SECONDS:.0f}"
        )
        say(f"  drained to final states in {drain_seconds:.0f} s after the load: {dict(sorted(states.items()))}")
        say(f"  SMSC: {smsc_stats}; outcome_unknown recorded: {outcome_unknown}")
        say(f"  lost: {len(lost_requests)} requests, {lost_recipients} recipients")
        ok = (
            not lost_requests
            and lost_recipients == 0
            and int(agg["Failure Count"]) == 0
            and not not_final
            and smsc_stats["accepted"] >= expected_recipients
            and smsc_stats["duplicates"] <= outcome_unknown
        )
        say("load: PASS" if ok else f"load: FAIL (not final: {not_final})")
        return 0 if ok else 1
    finally:
        stack.stop()
        smsc.stop()


if __name__ == "__main__":
    exit_now(main())
