"""Resends: a failed recipient is sent again as a new attempt of the same message.

The new row links to the one it sends again (`resend_of`), waits in `initial` and is due now;
the request is never cloned. A member who has since become inactive or unsubscribed from the
channel is skipped, and so is a row that already has a later attempt (a double click, or a
resend of a chain's older link). The periodic dispatch takes new rows up within its poll.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from audiences.selectors import member_reachable
from messaging.models import Recipient, RecipientEvent, RecipientState
from messaging.services.quota_usage import recipients_added

RESENDABLE_STATES = (RecipientState.REJECTED, RecipientState.UNDELIVERED, RecipientState.EXPIRED)
CHUNK = 2000
# The counts of a ResendReport, which ResendReport.total_of sums.
COUNTS = ("resent", "opted_out", "not_failed", "already_resent")


@dataclass
class ResendReport:
    resent: int = 0
    opted_out: int = 0
    not_failed: int = 0
    already_resent: int = 0
    new_ids: list[int] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return self.opted_out + self.not_failed + self.already_resent

    @classmethod
    def total_of(cls, reports: Iterable["ResendReport"]) -> "ResendReport":
        """One report of many (a command's chunks, an admin action's requests): each of COUNTS
        summed, so that a count added there is summed with it. The new rows' ids stay with each
        call's own report."""
        total = cls()
        for report in reports:
            for name in COUNTS:
                setattr(total, name, getattr(total, name) + getattr(report, name))
        return total

    def summary(self) -> str:
        return (
            f"{self.resent} resent, {self.skipped} skipped "
            f"({self.opted_out} opted out, {self.not_failed} not failed, {self.already_resent} already resent)"
        )


def recipient_opted_out(recipient: Recipient) -> bool:
    """Whether the member behind the row has left since: inactive, or unsubscribed from the channel."""
    member = recipient.member
    return member is not None and not member_reachable(member, channel=recipient.channel, needs_mobile=False)


def _attempt_of(original: Recipient, *, now: datetime) -> Recipient:
    expires_at = original.expires_at if original.expires_at and original.expires_at > now else None
    return Recipient(
        message_id=original.message_id,
        member_id=original.member_id,
        phone=original.phone,
        resend_of_id=original.pk,
        content=original.content,
        channel=original.channel,
        state=RecipientState.INITIAL,
        priority=original.priority,
        due_at=now,
        expires_at=expires_at,
    )


def recipients_resend(
    *, recipient_ids: Iterable[int], by: str = "", now: datetime | None = None, dry_run: bool = False
) -> ResendReport:
    """Queue a new attempt for each failed recipient among `recipient_ids`; returns the counts."""
    now = now or timezone.now()
    ids = sorted(set(recipient_ids))
    report = ResendReport()
    detail = f"resend of recipient {{}}{f' by {by}' if by else ''}"
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with transaction.atomic():
            originals = list(
                Recipient.objects.select_for_update(of=("self",))
                .select_related("member")
                .filter(id__in=chunk)
                .order_by("id")
            )
            later = set(
                Recipient.objects.filter(resend_of_id__in=[row.pk for row in originals]).values_list(
                    "resend_of_id", flat=True
                )
            )
            attempts = []
            for original in originals:
                if original.state not in RESENDABLE_STATES:
                    report.not_failed += 1
                elif original.pk in later:
                    report.already_resent += 1
                elif recipient_opted_out(original):
                    report.opted_out += 1
                else:
                    attempts.append(_attempt_of(original, now=now))
            report.resent += len(attempts)
            if dry_run or not attempts:
                continue
            created = Recipient.objects.bulk_create(attempts, batch_size=1000)
            recipients_added(attempts)
            if any(row.pk is None for row in created):  # a database that does not return ids
                created = list(Recipient.objects.filter(resend_of_id__in=[a.resend_of_id for a in attempts]))
            RecipientEvent.objects.bulk_create(
                RecipientEvent(
                    recipient_id=row.pk, state=RecipientState.INITIAL, at=now, detail=detail.format(row.resend_of_id)
                )
                for row in created
            )
            report.new_ids.extend(row.pk for row in created)
    return report


def recipients_failed(
    *,
    request_id: int | None = None,
    states: Iterable[str] = RESENDABLE_STATES,
    since: datetime | None = None,
    until: datetime | None = None,
    provider: str = "",
    latest_only: bool = True,
):
    """The failed recipients that a resend would take, as a queryset of ids.

    `since`/`until` bound the time the row reached its final state; `latest_only` leaves out
    rows that already have a later attempt, so each chain is resent once.
    """
    wanted = [state for state in states if state in RESENDABLE_STATES]
    rows = Recipient.objects.filter(state__in=wanted)
    if request_id is not None:
        rows = rows.filter(message__request_id=request_id)
    if since is not None:
        rows = rows.filter(final_at__gte=since)
    if until is not None:
        rows = rows.filter(final_at__lt=until)
    if provider:
        rows = rows.filter(provider=provider)
    if latest_only:
        # IS NOT NULL lets the later attempts be read from the partial index of the few rows
        # that have a resend_of, whichever join the planner picks.
        later = Recipient.objects.filter(resend_of__isnull=False, resend_of_id=OuterRef("pk"))
        rows = rows.exclude(Exists(later))
    return rows.order_by("id").values_list("id", flat=True)
