from django.core.management.base import BaseCommand, CommandError

from messaging.models import SmsRequest
from messaging.services.cancel import sms_request_cancel
from messaging.services.operations import recipients_cancel, recipients_waiting

from ._console import chunks, progress

CHUNK = 5000


class Command(BaseCommand):
    help = (
        "Cancel what is not yet handed to a provider: every waiting recipient of a request (which also "
        "stops its expansion), or the given recipients. Ends with one summary line."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--request", type=int, action="append", dest="request_ids", help="A request id (repeatable)."
        )
        parser.add_argument(
            "--recipient", type=int, action="append", dest="recipient_ids", help="A recipient id (repeatable)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Print how many wait; change nothing.")

    def handle(self, *args, **options):
        request_ids, recipient_ids = options["request_ids"] or [], options["recipient_ids"] or []
        if not (request_ids or recipient_ids):
            raise CommandError("Say what to cancel: --request or --recipient.")
        missing = sorted(
            set(request_ids) - set(SmsRequest.objects.filter(id__in=request_ids).values_list("id", flat=True))
        )
        if missing:
            raise CommandError(f"No such request: {', '.join(map(str, missing))}")
        if options["dry_run"]:
            waiting = sum(len(recipients_waiting(request_id=request_id)) for request_id in request_ids)
            waiting += len(recipients_waiting().filter(id__in=recipient_ids)) if recipient_ids else 0
            self.stdout.write(f"Dry run: {waiting} recipients not yet submitted would be cancelled.")
            return
        cancelled = 0
        with progress(len(request_ids) + len(recipient_ids), "row", self.stderr) as bar:
            for request_id in request_ids:
                cancelled += sms_request_cancel(request_id=request_id)
                bar.update(1)
            for chunk in chunks(sorted(set(recipient_ids)), CHUNK):
                cancelled += recipients_cancel(recipient_ids=chunk, by="cancel_sms")
                bar.update(len(chunk))
        self.stdout.write(f"Cancelled {cancelled} recipients not yet submitted.")
