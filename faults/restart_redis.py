"""Fault: restart Redis (the broker and the shared cache) in the middle of a run of partner
requests. The API answers 200 or a quick 503 with the CONTRACT body during the outage, stores
nothing by half, carries on afterwards, and loses nothing it accepted.

Redis here is a private instance with append-only persistence, so that the restart disturbs
nothing else on the machine."""

from common import PrivateRedis, Smsc, Stack, exit_now
from outage import through_outage


def main() -> int:
    redis = PrivateRedis()
    smsc = Smsc(receipts=True)
    stack = Stack("restart_redis", smsc=smsc, redis=redis.url, redis_db=0, extra_env={"DISPATCH_LEASE_SECONDS": "15"})
    try:
        stack.fresh_database()
        key = stack.api_key()
        stack.start()
        return through_outage("restart_redis", stack, key, down=redis.stop, up=redis.start)
    finally:
        stack.stop()
        smsc.stop()
        redis.cleanup()


if __name__ == "__main__":
    exit_now(main())
