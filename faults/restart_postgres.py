"""Fault: restart PostgreSQL (stopped for a few seconds) in the middle of a run of partner
requests. The API answers a quick 503 with the CONTRACT body during the outage, stores nothing by
half, carries on afterwards, and loses nothing it accepted.

The cluster is a private one ("proof", port 5439) restarted with pg_ctlcluster, as the main one
would be, so that the restart disturbs nothing else on the machine."""

from common import PrivatePostgres, Smsc, Stack, exit_now
from outage import through_outage


def main() -> int:
    postgres = PrivatePostgres()
    smsc = Smsc(receipts=True)
    stack = Stack(
        "restart_postgres", smsc=smsc, pg=postgres.url, redis_db=10, extra_env={"DISPATCH_LEASE_SECONDS": "15"}
    )
    try:
        stack.fresh_database()
        key = stack.api_key()
        stack.start()

        def up():
            postgres.ctl("start")
            postgres.wait_up()

        return through_outage("restart_postgres", stack, key, down=lambda: postgres.ctl("stop"), up=up)
    finally:
        stack.stop()
        smsc.stop()
        postgres.ctl("start", check=False)


if __name__ == "__main__":
    exit_now(main())
