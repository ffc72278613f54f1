"""Tasks take ids, call one service, and carry no data: the rows are the queue."""

import logging
import threading

from celery import shared_task
from celery.signals import worker_process_init
from django.db import connection

from messaging.services import dispatch, expansion, quota_usage, retention, sweep, wakeups
from messaging.services.providers import routing

logger = logging.getLogger(__name__)


def links_open_in_background() -> threading.Thread:
    """Open the providers' binds beside the worker's start, never delaying it (an SMSC that is
    down costs the connect timeout and the backoff, not the worker)."""

    def run():
        try:
            routing.provider_links_open()
        except Exception:
            logger.warning("provider links could not be opened at start", exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="provider-links-open", daemon=True)
    thread.start()
    return thread


@worker_process_init.connect
def _worker_process_started(**_):
    links_open_in_background()


@shared_task(name="messaging.dispatch_due", ignore_result=True, acks_late=True)
def dispatch_due():
    report = dispatch.dispatch_due_run()
    if report.more:
        wakeups.dispatch_wake(force=True)
    return None


@shared_task(name="messaging.expand_message", ignore_result=True, acks_late=True)
def expand_message(message_id: int):
    before = quota_usage.message_counted_parts(message_id)
    done = expansion.message_expand_chunk(message_id=message_id)
    quota_usage.message_expansion_grown(message_id, before)
    wakeups.dispatch_wake(force=True)
    if not done:
        expand_message.apply_async(args=[message_id])


@shared_task(name="messaging.sweep_queue", ignore_result=True)
def sweep_queue():
    sweep.queue_sweep()


# Not acks_late: a purge outlasts the broker's visibility timeout, and a redelivered copy would only
# wait for the first (one purge at a time); a lost run is made up by the next day's.
@shared_task(name="messaging.purge_old_sms", ignore_result=True, acks_late=False)
def purge_old_sms():
    report = retention.sms_purge_expired()
    logger.info("retention purge: %s", report.summary())
