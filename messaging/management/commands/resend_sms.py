from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from messaging.models import Recipient
from messaging.services.resend import RESENDABLE_STATES, ResendReport, recipients_failed, recipients_resend

from ._console import chunks, moment, progress

CHUNK = 2000


class Command(BaseCommand):
    help = (
        "Send failed recipients again as new attempts of the same message (never a new request). "
        "Picks rejected, undelivered and expired recipients by request, state, time of failure and "
        "provider; members who opted out since are skipped. Ends with one summary line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--request", type=int, dest="request_id", help="Only this request id.")
        parser.add_argument(
            "--recipient", type=int, action="append", dest="recipient_ids", help="This recipient id (repeatable)."
        )
        parser.add_argument(
            "--state",
            action="append",
            dest="states",
            choices=[str(state) for state in RESENDABLE_STATES],
            help="Only this state (repeatable); default: rejected, undelivered and expired.",
        )
        parser.add_argument("--since", help="Failed at or after this time: ISO 8601 or an age such as 6h or 2d.")
        parser.add_argument("--until", help="Failed before this time: ISO 8601 or an age.")
        parser.add_argument("--provider", default="", help="Only recipients last handled by this provider.")
        parser.add_argument("--dry-run", action="store_true", help="Print what would be resent; change nothing.")

    def handle(self, *args, **options):
        request_id, recipient_ids = options["request_id"], options["recipient_ids"]
        since, until = moment(options["since"]), moment(options["until"])
        if not (request_id or recipient_ids or since or until or options["provider"]):
            raise CommandError("Say what to resend: --request, --recipient, --since/--until or --provider.")
        if recipient_ids:
            ids = sorted(set(recipient_ids))
        else:
            ids = list(
                recipients_failed(
                    request_id=request_id,
                    states=options["states"] or RESENDABLE_STATES,
                    since=since,
                    until=until,
                    provider=options["provider"],
                )
            )
        if options["dry_run"]:
            self._preview(ids)
        total = ResendReport()
        with progress(len(ids), "recipient", self.stderr) as bar:
            for chunk in chunks(ids, CHUNK):
                report = recipients_resend(recipient_ids=chunk, by="resend_sms", dry_run=options["dry_run"])
                total = ResendReport.total_of([total, report])
                bar.update(len(chunk))
        prefix = "Dry run, would have: " if options["dry_run"] else ""
        self.stdout.write(f"{prefix}{total.summary()} of {len(ids)} selected.")

    def _preview(self, ids: list[int]) -> None:
        by_kind: Counter[tuple[int, str, str]] = Counter()
        for chunk in chunks(ids, 10000):
            for row in Recipient.objects.filter(id__in=chunk).values("message__request_id", "state", "provider"):
                by_kind[(row["message__request_id"], row["state"], row["provider"] or "-")] += 1
        for (request_id, state, provider), count in sorted(by_kind.items()):
            self.stdout.write(f"would resend request {request_id}: {count} {state} via {provider}")
        if ids:
            sample = ", ".join(str(pk) for pk in ids[:10])
            self.stdout.write(f"recipient ids: {sample}{' ...' if len(ids) > 10 else ''}")
