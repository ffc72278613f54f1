"""What an operator does to recipients by hand, besides resending: cancel and expire."""

from collections.abc import Iterable

from messaging.models import Recipient, RecipientState

from .states import recipients_transition


def recipients_cancel(*, recipient_ids: Iterable[int], by: str = "") -> int:
    """Cancel the given recipients that still wait (not leased to a dispatcher); returns how many."""
    return recipients_transition(
        recipient_ids=recipient_ids,
        to_state=RecipientState.CANCELLED,
        detail=f"cancelled by {by}" if by else "cancelled by an operator",
        extra_filter={"lease_token__isnull": True},
    )


def recipients_waiting(*, request_id: int | None = None, provider: str = ""):
    """Ids of the recipients not yet handed to a provider, optionally of one request."""
    rows = Recipient.objects.filter(state=RecipientState.INITIAL)
    if request_id is not None:
        rows = rows.filter(message__request_id=request_id)
    if provider:
        rows = rows.filter(provider=provider)
    return rows.order_by("id").values_list("id", flat=True)
