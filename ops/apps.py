from celery.signals import task_postrun, task_prerun
from django.apps import AppConfig
from django.core.signals import request_finished
from django.db.models.signals import post_migrate

from smsgateway.logging import request_id_var


def _task_started(task_id=None, **kwargs):
    request_id_var.set(f"task-{task_id}" if task_id else "-")


def _task_finished(**kwargs):  # also the end of an HTTP response
    request_id_var.set("-")


def _groups_after_migrate(sender, **kwargs):
    from ops.groups import console_groups_setup  # models: not before the apps are ready

    console_groups_setup(using=kwargs.get("using", "default"))


class OpsConfig(AppConfig):
    """The console's support: traffic buckets, health and metrics, the staff groups."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        from messaging.selectors import provider_names_sent_register
        from ops.selectors import traffic_provider_names

        # After every migrate (and every test flush) the groups and their permissions exist.
        post_migrate.connect(_groups_after_migrate, sender=self, dispatch_uid="ops.groups_after_migrate")
        request_finished.connect(_task_finished, weak=False, dispatch_uid="ops.request_finished")
        # In a worker, the task id stands for the request id on each log line.
        task_prerun.connect(_task_started, weak=False, dispatch_uid="ops.task_started")
        task_postrun.connect(_task_finished, weak=False, dispatch_uid="ops.task_finished")
        # The console's provider filter lists the providers that sent, from the traffic totals.
        provider_names_sent_register(traffic_provider_names)
