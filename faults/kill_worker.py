"""Fault: kill -9 the Celery worker (with its children) while it dispatches 100,000 recipients, then
start it again. Every recipient must end in one final state, and the SMSC must count no duplicate
beyond those the gateway recorded as outcome unknown."""

import os
import time

from common import FINAL, Smsc, Stack, bulk_send, exit_now, lost, say, stored_recipients, verdict

TOTAL = int(os.environ.get("FAULT_RECIPIENTS", "100000"))
KILL_AFTER = TOTAL // 5


def main() -> int:
    smsc = Smsc(receipts=True)
    stack = Stack("kill_worker", smsc=smsc, extra_env={"DISPATCH_LEASE_SECONDS": "15"})
    try:
        stack.fresh_database()
        key = stack.api_key()
        stack.start_web()
        accepted = bulk_send(stack, key, TOTAL)
        say(f"kill_worker: {TOTAL} recipients accepted in {len(accepted)} requests; starting the worker")
        stack.start_worker()
        stack.start_beat()
        started = time.monotonic()
        while smsc.stats()["taken"] < KILL_AFTER and time.monotonic() - started < 300:
            time.sleep(0.2)
        taken_at_kill = smsc.stats()["taken"]
        stack.kill("worker")
        say(f"  killed the worker (SIGKILL to its process group) with {taken_at_kill} taken by the SMSC")
        time.sleep(3)
        stack.start_worker()
        states = stack.wait_final(timeout=900)
        seconds = time.monotonic() - started
        stats = smsc.stats()
        unknown = stack.sql("SELECT count(*) FROM messaging_recipient WHERE outcome_unknown")[0][0]
        missing = lost(accepted, stored_recipients(stack))
        say(f"  after {seconds:.0f} s: states {states}; SMSC {stats}; outcome_unknown {unknown}")
        return verdict(
            "kill_worker",
            {
                f"every one of {TOTAL} recipients is in a final state": sum(states.values()) == TOTAL
                and all(s in FINAL for s in states),
                f"the SMSC took every recipient ({stats['accepted']} accepted)": stats["accepted"] >= TOTAL,
                f"SMSC duplicates ({stats['duplicates']}) <= recorded outcome_unknown ({unknown})": stats["duplicates"]
                <= unknown,
                f"nothing accepted lost ({missing})": missing == 0,
            },
        )
    finally:
        stack.stop()
        smsc.stop()


if __name__ == "__main__":
    exit_now(main())
