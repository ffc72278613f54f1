"""Periodic tasks of the console: they call one service each."""

from celery import shared_task

from ops import traffic


@shared_task(name="ops.traffic_aggregate", ignore_result=True)
def traffic_aggregate():
    traffic.traffic_aggregate()
    traffic.traffic_prune()
