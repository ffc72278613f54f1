from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        from audiences.services.segments import segment_pending_finder_register

        from . import checks  # noqa: F401 - registers the system checks
        from .models import ApiKey
        from .selectors import segment_messages_unsent
        from .services.api_keys import api_keys_forget

        # A segment that a message not yet sent names is not deleted.
        segment_pending_finder_register(segment_messages_unsent)

        def forget(sender, instance, **kwargs):
            api_keys_forget(pk=instance.pk)

        post_save.connect(forget, sender=ApiKey, weak=False, dispatch_uid="messaging.api_key_forget_saved")
        post_delete.connect(forget, sender=ApiKey, weak=False, dispatch_uid="messaging.api_key_forget_deleted")
