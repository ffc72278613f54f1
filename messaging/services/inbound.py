"""Inbound SMS (two-way): every one is kept (InboundSms, shown in the console), and STOP and START
change the sender's SMS subscription. A provider that sends the same message again (a webhook
retried, a deliver_sm resent) has it kept and acted on once.

The keywords are those carriers and aggregators honour (CTIA's list, which Twilio also applies):
STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT opt out; START, SUBSCRIBE, UNSTOP, YES opt back in.
An opt-out also stops the texts still queued for that number (they become `not attempted`).
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from audiences import phones
from audiences.models import Member
from messaging.models import Channel, InboundSms, Recipient, RecipientState
from smsgateway.columns import fit

from .states import recipients_transition

logger = logging.getLogger(__name__)

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "SUBSCRIBE", "UNSTOP", "YES"})


@dataclass(frozen=True)
class InboundResult:
    phone: str
    action: str  # "opt-out", "opt-in" or "" (an ordinary message)
    members: int = 0
    stopped: int = 0
    repeated: bool = False  # the provider sent this message before: kept and acted on once


def phone_e164(raw: str) -> str | None:
    """A sender's number as E.164 with its leading +; providers send it with or without."""
    return phones.phone_e164(raw, reported=True)


def inbound_keyword(text: str) -> str:
    words = (text or "").strip().upper().split()
    if not words:
        return ""
    word = words[0].strip(".!?,;:")
    if word in OPT_OUT_WORDS:
        return "opt-out"
    if word in OPT_IN_WORDS:
        return "opt-in"
    return ""


def inbound_sms_receive(
    *, phone: str, text: str, sender_message_id: str = "", sent_to: str = "", provider: str = ""
) -> InboundResult:
    action = inbound_keyword(text)
    logger.info(
        "inbound SMS from %s to %s via %s (%s): %s", phone, sent_to or "-", provider or "api", sender_message_id, action
    )
    member = Member.objects.filter(mobile=phone).first()
    # Kept as text the database can hold: no NUL, no lone surrogate, at most 5,000 characters.
    text = (text or "").replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:5000]
    try:
        with transaction.atomic():
            InboundSms.objects.create(
                phone=phone,
                text=text,
                sent_to=fit(InboundSms, "sent_to", sent_to),
                provider=fit(InboundSms, "provider", provider),
                provider_message_id=fit(InboundSms, "provider_message_id", sender_message_id),
                action=action,
                member=member,
            )
            members = 0
            if action:
                # The person's own word: a STOP is recorded as theirs (the audience API cannot undo
                # it), a START from the number lifts it.
                opted_out_at = timezone.now() if action == "opt-out" else None
                members = Member.objects.filter(mobile=phone).update(
                    sms_subscription=action == "opt-in", sms_opted_out_at=opted_out_at
                )
    except IntegrityError:
        return InboundResult(phone=phone, action=action, repeated=True)
    if not action:
        return InboundResult(phone=phone, action="")
    stopped = 0
    if action == "opt-out":
        queued = Recipient.objects.filter(
            phone=phone, channel=Channel.TEXT, state=RecipientState.INITIAL, lease_token__isnull=True
        ).values_list("id", flat=True)
        stopped = recipients_transition(
            recipient_ids=list(queued),
            to_state=RecipientState.NOT_ATTEMPTED,
            detail="opted out by STOP",
            extra_filter={"lease_token__isnull": True},
        )
    return InboundResult(phone=phone, action=action, members=members, stopped=stopped)


def inbound_from_provider(
    *, sender: str, text: str, provider: str, sender_message_id: str = "", sent_to: str = ""
) -> InboundResult | None:
    """A text a provider hands over (webhook or SMPP), its sender as the provider writes it; kept
    and acted on as one posted to the inbound API. One from no possible number is logged and
    dropped (None): the provider is not asked to send it again."""
    phone = phone_e164(sender)
    if phone is None:
        logger.warning("inbound SMS via %s from an address that is no phone number dropped", provider)
        return None
    return inbound_sms_receive(
        phone=phone, text=text, sender_message_id=sender_message_id, sent_to=sent_to, provider=provider
    )


def inbound_texts_receive(*, texts, provider: str) -> int:
    """Texts members sent that a provider's own connection carried (SMPP mobile-originated
    deliver_sm, as InboundText). Returns how many were kept."""
    kept = [
        inbound_from_provider(sender=text.source_addr, text=text.text, sent_to=text.destination_addr, provider=provider)
        for text in texts
    ]
    return sum(result is not None for result in kept)
