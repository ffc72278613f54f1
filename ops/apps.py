from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _task_started(task_id=None, **kwargs):
    from smsgateway.logging import request_id_var

    request_id_var.set(f"task-{task_id}" if task_id else "-")


def _task_finished(**kwargs):  # also the end of an HTTP response
    from smsgateway.logging import request_id_var

    request_id_var.set("-")


def _groups_after_migrate(sender, **kwargs):
    from ops.groups import console_groups_setup

    console_groups_setup(using=kwargs.get("using", "default"))


class OpsConfig(AppConfig):
    """The console's support: traffic buckets, health and metrics, the staff groups."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        # After every migrate (and every test flush) the groups and their permissions exist.
        post_migrate.connect(_groups_after_migrate, sender=self, dispatch_uid="ops.groups_after_migrate")
        from django.core.signals import request_finished

        request_finished.connect(_task_finished, weak=False, dispatch_uid="ops.request_finished")
        # In a worker, the task id stands for the request id on each log line.
        from celery.signals import task_postrun, task_prerun

        task_prerun.connect(_task_started, weak=False, dispatch_uid="ops.task_started")
        task_postrun.connect(_task_finished, weak=False, dispatch_uid="ops.task_finished")
