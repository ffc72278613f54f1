"""Wake-ups on the broker. They carry no data: the rows are the queue, and the periodic
dispatch and sweep find whatever a lost wake-up left behind.

This is the one module that publishes the Celery tasks: every service that wakes a worker comes
here."""

import logging
import time

logger = logging.getLogger(__name__)

_last_wake: dict[str, float] = {}
# At most one wake-up a queue from each process in this time: a publish costs about a millisecond
# of CPU, and a worker woken dispatches every row due then (and wakes itself again while more are).
# A request after a quiet spell wakes the worker at once; in a busy stream, a row waits at most this
# long beyond the worker's run for the next wake-up.
WAKE_INTERVAL = 0.2


def _tasks():
    # The tasks call the services, which wake the tasks through here: the import waits for a
    # call, as the one cycle between the two.
    from messaging import tasks

    return tasks


def dispatch_wake(*, priority: bool = False, force: bool = False) -> None:
    queue = "priority" if priority else "default"
    now = time.monotonic()
    if not force and now - _last_wake.get(queue, 0.0) < WAKE_INTERVAL:
        return
    _last_wake[queue] = now
    try:
        _tasks().dispatch_due.apply_async(queue=queue, expires=60)
    except Exception:  # the sweep will pick the rows up
        logger.warning("could not publish a dispatch wake-up", exc_info=True)


def request_accepted(*, expand_message_ids: list[int], priority: bool) -> None:
    for message_id in expand_message_ids:
        try:
            _tasks().expand_message.apply_async(args=[message_id], queue="priority" if priority else "default")
        except Exception:
            logger.warning("could not publish expansion of message %s", message_id, exc_info=True)
    dispatch_wake(priority=priority, force=priority)


def expansions_resume(*, message_ids: list[int]) -> None:
    """Publish the expansion of messages whose expansion stalled (the sweeper's finding)."""
    for message_id in message_ids:
        _tasks().expand_message.apply_async(args=[message_id])
