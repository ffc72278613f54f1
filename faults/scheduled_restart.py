"""Fault: the clock across a restart. A message scheduled 25 s ahead is accepted; the worker and
beat are stopped (SIGKILL) and started again before it is due. It must still go out on time:
submitted within a few seconds of its startTimestamp, not before."""

import json
import time
from datetime import UTC, datetime

from common import PHONES, Smsc, Stack, exit_now, json_send, post, say, send_url, verdict

AHEAD_SECONDS = 25
ON_TIME_SECONDS = 5.0


def main() -> int:
    smsc = Smsc(receipts=True)
    stack = Stack("scheduled_restart", smsc=smsc)
    try:
        stack.fresh_database()
        key = stack.api_key()
        stack.start()
        due_ms = int((time.time() + AHEAD_SECONDS) * 1000)
        status, body, _ = post(
            send_url(stack),
            json_send(PHONES[:10], content="scheduled", start_ms=due_ms),
            content_type="application/json",
            key=key,
        )
        say(f"  scheduled 10 recipients for {AHEAD_SECONDS} s ahead: {status} {json.loads(body)}")
        time.sleep(5)
        stack.kill("worker")
        stack.kill("beat")
        say("  worker and beat killed (SIGKILL)")
        time.sleep(8)
        stack.start_worker()
        stack.start_beat()
        say("  worker and beat started again, before the message is due")
        time.sleep(max(0.0, due_ms / 1000 - time.time()) + 15)
        rows = stack.sql("SELECT state, submitted_at FROM messaging_recipient")
        due = datetime.fromtimestamp(due_ms / 1000, tz=UTC)
        delays = [(submitted - due).total_seconds() for _, submitted in rows if submitted is not None]
        say(
            f"  states {sorted({state for state, _ in rows})}; submitted {len(delays)}/10, "
            f"delay after due: min {min(delays, default=-1):.2f} s, max {max(delays, default=-1):.2f} s"
        )
        return verdict(
            "scheduled_restart",
            {
                "every recipient was submitted": len(delays) == 10,
                "none before its startTimestamp": all(delay >= 0 for delay in delays),
                f"all within {ON_TIME_SECONDS:.0f} s of it": bool(delays) and max(delays) <= ON_TIME_SECONDS,
            },
        )
    finally:
        stack.stop()
        smsc.stop()


if __name__ == "__main__":
    exit_now(main())
