from django.db import models


class TrafficMinute(models.Model):
    """Recipients that reached a state in one minute, per provider: what the dashboard and the
    metrics read instead of counting the recipient table. `initial` counts rows queued."""

    minute = models.DateTimeField()
    provider = models.CharField(max_length=100, blank=True, default="")
    state = models.CharField(max_length=16)
    messages = models.PositiveBigIntegerField(default=0)
    parts = models.PositiveBigIntegerField(default=0)
    latency_seconds = models.FloatField(
        default=0, help_text="Summed: due to submitted for `submitted`, submitted to receipt for a receipt's state."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["minute", "provider", "state"], name="traffic_minute_unique"),
        ]
        indexes = [models.Index(fields=["minute"], name="traffic_minute_at")]

    def __str__(self):
        return f"{self.minute:%Y-%m-%d %H:%M} {self.provider or '-'} {self.state} {self.messages}"


class TrafficWatermark(models.Model):
    """How far the aggregation has read a source table (by id), and the highest id it saw on its
    last run: rows up to that one are taken on the next run, so that a transaction still open
    when an id was drawn has committed by the time its row is counted."""

    source = models.CharField(max_length=32, unique=True)
    done_id = models.BigIntegerField(default=0)
    seen_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.source} {self.done_id}"


class TrafficTotal(models.Model):
    """Running totals since the gateway started, per provider and state: the counters that
    /metrics exposes (they only grow, as Prometheus counters must)."""

    provider = models.CharField(max_length=100, blank=True, default="")
    state = models.CharField(max_length=16)
    messages = models.PositiveBigIntegerField(default=0)
    parts = models.PositiveBigIntegerField(default=0)
    latency_seconds = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "state"], name="traffic_total_unique")]

    def __str__(self):
        return f"{self.provider or '-'} {self.state} {self.messages}"


class TrafficHour(models.Model):
    """The same as TrafficMinute by the hour: the day and week counts read these."""

    hour = models.DateTimeField()
    provider = models.CharField(max_length=100, blank=True, default="")
    state = models.CharField(max_length=16)
    messages = models.PositiveBigIntegerField(default=0)
    parts = models.PositiveBigIntegerField(default=0)
    latency_seconds = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "provider", "state"], name="traffic_hour_unique")]
        indexes = [models.Index(fields=["hour"], name="traffic_hour_at")]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H}h {self.provider or '-'} {self.state} {self.messages}"
