"""The providers SMS are handed to, as configured, and the throttle's clock for each when no
Redis holds it."""

import datetime

from django.db import models

from messaging.providers.registry import kind_choices


class Provider(models.Model):
    """A carrier or aggregator that SMS are handed to, configured as CONTRACT section 8 gives it."""

    name = models.CharField(max_length=100, unique=True)
    # The registered kinds (messaging/providers/registry.py); a new kind needs a migration.
    kind = models.CharField(max_length=16, choices=kind_choices())
    enabled = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=1, help_text="Failover order, lowest first.")
    properties = models.JSONField(default=dict, blank=True, help_text="The CONTRACT's key/value properties.")
    quiet_hours_enabled = models.BooleanField(default=False)
    quiet_hours_start = models.TimeField(default=datetime.time(21, 0))
    quiet_hours_end = models.TimeField(default=datetime.time(8, 0))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class ThrottleBucket(models.Model):
    """A provider's shared send rate when no Redis holds it (messaging.throttle): the moment,
    in Unix seconds, from which its next message part may go."""

    provider = models.CharField(max_length=100, primary_key=True)
    ready_at = models.FloatField(default=0.0)

    def __str__(self):
        return f"{self.provider} ready at {self.ready_at:.3f}"
