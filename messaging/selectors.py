from collections.abc import Callable, Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Max, Min, Q

from audiences.criteria import CriteriaError, criteria_segment_ids, parse_criteria
from messaging.models import Provider, Recipient, RecipientState, SmsMessage, SmsRequest

# A gateway user with these permissions reads, or cancels, every partner's requests; anyone else
# only its own (another's is a 404, as for a missing id).
VIEW_EVERY_REQUEST = "messaging.view_smsrequest"
CANCEL_EVERY_REQUEST = "messaging.cancel_recipient"


def sms_request_for_client(
    *, request_id: int, client: str, others_permission: str = VIEW_EVERY_REQUEST
) -> SmsRequest | None:
    """The request if the caller may see it: its own, or any with `others_permission`."""
    sms_request = SmsRequest.objects.filter(id=request_id).first()
    if sms_request is None:
        return None
    if sms_request.client == client or client_has_perm(client, others_permission):
        return sms_request
    return None


def client_has_perm(client: str, permission: str) -> bool:
    """Whether the caller (an owner tag, `user:<pk>` or `key:<pk>`) is an active gateway user
    with the Django permission. A partner key never has one."""
    if not client.startswith("user:"):
        return False
    user = get_user_model().objects.filter(pk=client.removeprefix("user:"), is_active=True).first()
    return user is not None and user.has_perm(permission)


def client_sees_every_request(client: str) -> bool:
    return client_has_perm(client, VIEW_EVERY_REQUEST)


# The name the status fetch knows it by: "staff" is a permission, not the is_staff flag.


def recipient_state_counts(recipients) -> dict[str, int]:
    """How many of the recipients are in each state (every state named, 0 when none) and their
    `total`: one GROUP BY. The one way a report counts recipients by state; the request summary
    and the status fetch read it."""
    counts = {state.value: 0 for state in RecipientState}
    for row in recipients.values("state").annotate(n=Count("id")).order_by():
        counts[row["state"]] = row["n"]
    counts["total"] = sum(counts.values())
    return counts


def sms_request_summary(*, sms_request: SmsRequest) -> dict:
    messages = []
    for message in SmsMessage.objects.filter(request=sms_request).order_by("position"):
        recipients = Recipient.objects.filter(message=message)
        times = recipients.aggregate(first_submitted=Min("submitted_at"), last_final=Max("final_at"))
        messages.append(
            {
                "position": message.position,
                "channel": message.channel,
                "priorityService": message.priority,
                "startTimestamp": message.start_at.isoformat(),
                "expiryTimestamp": message.expires_at.isoformat() if message.expires_at else None,
                "encoding": message.encoding,
                "parts": message.parts,
                "expanding": not message.expansion_done,
                # Why the last expansion try failed; with expanding false, why it was given up.
                "expansionError": message.expansion_error or None,
                "expandedCount": message.expanded_count,
                "expectedTotal": message.expected_total,
                "counts": recipient_state_counts(recipients),
                "firstSubmitted": times["first_submitted"].isoformat() if times["first_submitted"] else None,
                "lastFinal": times["last_final"].isoformat() if times["last_final"] else None,
            }
        )
    return {
        "id": str(sms_request.id),
        "createdAt": sms_request.created_at.isoformat(),
        "format": sms_request.format,
        "counts": recipient_state_counts(Recipient.objects.filter(message__request=sms_request)),
        "messages": messages,
    }


def segment_messages_unsent(*, segment_id: int) -> list[int]:
    """Messages not yet sent whose criteria name the segment: still expanding, or with
    recipients still waiting (`initial`)."""
    # The queue's rows (state initial) are few beside all recipients, and indexed apart.
    waiting = Recipient.objects.filter(state=RecipientState.INITIAL).values("message_id")
    unsent = (
        SmsMessage.objects.filter(Q(expansion_done=False) | Q(id__in=waiting))
        .exclude(criteria=[])
        .values_list("id", "criteria")
    )
    pending, seen = [], set()
    for message_id, criteria in unsent:
        if message_id in seen:
            continue
        seen.add(message_id)
        for text in criteria or []:
            try:
                if segment_id in criteria_segment_ids(parse_criteria(text)):
                    pending.append(message_id)
                    break
            except CriteriaError:
                continue
    return sorted(pending)


def table_estimate(model) -> int | None:
    """PostgreSQL's own estimate of a table's rows (no scan); None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [model._meta.db_table])
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row else None


def id_floor_at(model, *, moment: datetime, field_name: str = "created_at") -> int:
    """The smallest id whose row was created at or after `moment`, found by bisecting the
    primary key (ids grow with creation time), so a date filter becomes an id range."""
    bounds = model.objects.aggregate(low=Min("id"), high=Max("id"))
    low, high = bounds["low"], bounds["high"]
    if low is None:
        return 0
    answer = high + 1
    while low <= high:
        middle = (low + high) // 2
        row = model.objects.filter(id__gte=middle).order_by("id").values_list("id", field_name).first()
        if row is None:
            high = middle - 1
            continue
        row_id, created = row
        if created >= moment:
            answer = min(answer, row_id)
            high = middle - 1
        else:
            low = row_id + 1
    return answer


# The names of providers that sent, configured now or not: ops keeps them (its traffic totals) and
# registers how to read them (OpsConfig.ready), so that messaging imports nothing of ops.
_sent_provider_sources: list[Callable[[], Iterable[str]]] = []


def provider_names_sent_register(source: Callable[[], Iterable[str]]) -> None:
    if source not in _sent_provider_sources:
        _sent_provider_sources.append(source)


def provider_names_known() -> list[str]:
    """The configured providers and those that sent, sorted."""
    names = set(Provider.objects.values_list("name", flat=True))
    for source in _sent_provider_sources:
        names |= set(source())
    return sorted(names)
