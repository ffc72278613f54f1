"""Fault: the SMSC drops the bind with submits outstanding, and then stops answering for a while,
in the middle of a window. The gateway reconnects, loses no message, and the SMSC counts no
duplicate beyond those the gateway recorded as outcome unknown."""

import os
import time

from common import FINAL, InProcessSmsc, Stack, bulk_send, exit_now, lost, say, stored_recipients, verdict

TOTAL = int(os.environ.get("FAULT_SMSC_RECIPIENTS", "5000"))


def scenario(name: str, *, drop_after=None, silent_after=None, silent_seconds=8.0) -> int:
    smsc = InProcessSmsc(receipts=True, drop_after=drop_after)
    stack = Stack(name, smsc=smsc, extra_env={"DISPATCH_LEASE_SECONDS": "15"})
    try:
        stack.fresh_database()
        key = stack.api_key()
        stack.start_web()
        accepted = bulk_send(stack, key, TOTAL, per_request=1000, label=name)
        stack.start_worker()
        stack.start_beat()
        started = time.monotonic()
        if silent_after is not None:
            while smsc.stats()["taken"] < silent_after and time.monotonic() - started < 120:
                time.sleep(0.05)
            smsc.peer.silent = True
            say(f"  {name}: the SMSC stops answering after {smsc.stats()['taken']} submits")
            time.sleep(silent_seconds)
            smsc.peer.silent = False
            say(f"  {name}: the SMSC answers again after {silent_seconds:.0f} s")
        states = stack.wait_final(timeout=300)
        stats = smsc.stats()
        unknown = stack.sql("SELECT count(*) FROM messaging_recipient WHERE outcome_unknown")[0][0]
        missing = lost(accepted, stored_recipients(stack))
        say(
            f"  {name} after {time.monotonic() - started:.0f} s: states {states}; SMSC {stats}; "
            f"outcome_unknown {unknown}"
        )
        return verdict(
            name,
            {
                f"the gateway bound again ({stats['binds']} binds)": stats["binds"] >= 2,
                f"every one of {TOTAL} recipients is in a final state": sum(states.values()) == TOTAL
                and all(s in FINAL for s in states),
                f"SMSC duplicates ({stats['duplicates']}) <= outcome_unknown ({unknown})": stats["duplicates"]
                <= unknown,
                f"nothing accepted lost ({missing})": missing == 0,
            },
        )
    finally:
        stack.stop()
        smsc.stop()


def main() -> int:
    dropped = scenario("smsc_drops_bind", drop_after=TOTAL // 3)
    silent = scenario("smsc_stops_answering", silent_after=TOTAL // 3)
    return dropped or silent


if __name__ == "__main__":
    exit_now(main())
