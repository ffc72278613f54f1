from django.apps import AppConfig
from django.db.models.signals import post_migrate


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
