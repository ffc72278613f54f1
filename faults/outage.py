"""What the Redis and PostgreSQL faults share: a steady partner through an outage, and the checks."""

import json
import time

from common import FINAL, SteadyPartner, half_stored, lost, say, stored_recipients, verdict

CONTRACT_503 = {"id": "", "message": "Server failure to process request"}


def through_outage(name, stack, key, *, down, up, before=8.0, outage=6.0, after=15.0):
    partner = SteadyPartner(stack, key).start()
    time.sleep(before)
    down_at = time.monotonic()
    down()
    say(f"  {name}: down after {before:.0f} s of steady requests")
    time.sleep(outage)
    up()
    up_at = time.monotonic()
    say(f"  {name}: up again after {up_at - down_at:.1f} s")
    time.sleep(after)
    partner.stop()

    during = partner.between(down_at, up_at)
    settled = partner.between(up_at + 5, time.monotonic())
    statuses = {}
    for answer in during:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    refused = [a for a in during if a.status != 200]
    bad_bodies = [a for a in refused if a.status != 503 or json.loads(a.body or b"{}") != CONTRACT_503]
    slowest = max((a.seconds for a in refused), default=0.0)
    states = stack.wait_final(timeout=300)
    missing = lost(partner.accepted, stored_recipients(stack))
    halves = half_stored(stack)
    say(f"  answers during the outage: {statuses}; slowest refusal {slowest:.2f} s")
    if stack.smsc is not None:
        say(f"  SMSC: {stack.smsc.stats()}")
    say(
        f"  accepted in all: {len(partner.accepted)}; answers after recovery: "
        f"{sum(1 for a in settled if a.status == 200)}/{len(settled)} accepted; final states {states}"
    )
    return verdict(
        name,
        {
            "every refusal during the outage is 503 with the CONTRACT body": not bad_bodies,
            f"refusals are quick (slowest {slowest:.2f} s < 6 s)": slowest < 6.0,
            "answers 200 again within 5 s of recovery": bool(settled) and all(a.status == 200 for a in settled),
            f"nothing stored by half ({halves})": halves == 0,
            f"nothing accepted lost ({missing})": missing == 0,
            "every accepted recipient reaches a final state": all(s in FINAL for s in states),
        },
    )
