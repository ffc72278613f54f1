from messaging.models import Recipient, RecipientState, SmsMessage

from .states import recipients_transition


def sms_request_cancel(*, request_id: int) -> int:
    """Cancel every recipient of the request not yet handed to a provider; returns how many."""
    SmsMessage.objects.filter(request_id=request_id, expansion_done=False).update(expansion_done=True)
    waiting = Recipient.objects.filter(message__request_id=request_id, state=RecipientState.INITIAL)
    ids = list(waiting.values_list("id", flat=True))
    return recipients_transition(
        recipient_ids=ids,
        to_state=RecipientState.CANCELLED,
        detail="cancelled by request",
        extra_filter={"lease_token__isnull": True},
    )
