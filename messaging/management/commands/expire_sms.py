from django.core.management.base import BaseCommand
from django.utils import timezone

from messaging.models import Recipient, RecipientState
from messaging.services.dispatch import recipients_expire_due

from ._console import progress


class Command(BaseCommand):
    help = (
        "Run the expiry sweep by hand: every waiting recipient whose expiry time has passed becomes "
        "expired, in rounds, until none is left. Ends with one summary line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what is due to expire; change nothing.")

    def handle(self, *args, **options):
        due = Recipient.objects.filter(
            state=RecipientState.INITIAL, expires_at__isnull=False, expires_at__lte=timezone.now()
        )
        if options["dry_run"]:
            self.stdout.write(f"Dry run: {due.count()} waiting recipients are past their expiry.")
            return
        expired = 0
        with progress(due.count(), "recipient", self.stderr) as bar:
            while True:
                moved = recipients_expire_due()
                if not moved:
                    break
                expired += moved
                bar.update(moved)
        self.stdout.write(f"Expired {expired} recipients past their expiry time.")
