"""Tasks take ids, call one service, and carry no data: the rows are the queue."""

from celery import shared_task

from messaging.services import dispatch, expansion, sweep, wakeups


@shared_task(name="messaging.dispatch_due", ignore_result=True, acks_late=True)
def dispatch_due():
    report = dispatch.dispatch_due_run()
    if report.more:
        wakeups.dispatch_wake(force=True)
    return None


@shared_task(name="messaging.expand_message", ignore_result=True, acks_late=True)
def expand_message(message_id: int):
    done = expansion.message_expand_chunk(message_id=message_id)
    wakeups.dispatch_wake(force=True)
    if not done:
        expand_message.apply_async(args=[message_id])


@shared_task(name="messaging.sweep_queue", ignore_result=True)
def sweep_queue():
    sweep.queue_sweep()
