from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from messaging.models import SmsRequest
from messaging.services.retention import RetentionTooShort, retention_cutoff, sms_purge

from ._console import progress

AGE_UNITS = {"d": "days", "h": "hours"}


def age(text: str) -> timedelta:
    """An age in days or hours: 90d, 36h (a bare number is days)."""
    text = text.strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in AGE_UNITS else (text, "d")
    if not number.isdecimal():
        raise CommandError(f"Not an age: {text!r} (give days or hours, e.g. 90d or 36h)")
    return timedelta(**{AGE_UNITS[unit]: int(number)})


class Command(BaseCommand):
    help = (
        "Delete old requests whose every recipient is final, with their messages, recipients, events, "
        "and old pending receipts, in short transactions. A request with any recipient still waiting "
        "or sent without a receipt stays whole. Ends with one summary line."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", required=True, type=age, help="Last activity older than this: 90d, 36h (days by default)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument(
            "--batch", type=int, default=None, help="Recipient rows per transaction (SMS_RETENTION_BATCH, 2000)."
        )
        parser.add_argument(
            "--pause", type=float, default=None, help="Sleep after each transaction (SMS_RETENTION_PAUSE_SECONDS, 0.5)."
        )

    def handle(self, *args, **options):
        try:
            cutoff = retention_cutoff(age=options["older_than"])
        except RetentionTooShort as error:
            raise CommandError(str(error)) from error
        extra = {name: options[name] for name in ("batch", "pause") if options[name] is not None}
        old = SmsRequest.objects.filter(created_at__lt=cutoff).count()
        with progress(old, "request", self.stderr) as bar:
            deleted = 0

            def advance(examined: int, recipients: int) -> None:
                nonlocal deleted
                deleted += recipients
                bar.set_postfix(recipients=deleted, refresh=False)
                bar.update(examined)

            report = sms_purge(cutoff=cutoff, dry_run=options["dry_run"], on_progress=advance, **extra)
        if report.busy:
            raise CommandError(report.summary())
        self.stdout.write(report.summary())
