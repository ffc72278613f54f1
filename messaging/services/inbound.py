"""Inbound SMS (two-way): STOP and START change the sender's SMS subscription.

The keywords are those carriers and aggregators honour (CTIA's list, which Twilio also applies):
STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT opt out; START, SUBSCRIBE, UNSTOP, YES opt back in.
An opt-out also stops the texts still queued for that number (they become `not attempted`).
"""

import logging
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db import transaction

from audiences.models import Member
from messaging.models import Channel, Recipient, RecipientState

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


def phone_e164(raw: str) -> str | None:
    """A sender's number as E.164 with its leading +; providers send it with or without."""
    text = (raw or "").strip()
    if not text:
        return None
    if not text.startswith("+") and text.isascii() and text.isdigit() and len(text) > 10:
        text = "+" + text
    try:
        number = phonenumbers.parse(text, settings.SMS_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
    if not action:
        return InboundResult(phone=phone, action="")
    with transaction.atomic():
        members = Member.objects.filter(mobile=phone).update(sms_subscription=action == "opt-in")
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
