"""SMPP 3.4 values that need no connection: command ids and the PDUs written by hand (submit_sm,
and the answers that are little more than a header), text coding and splitting, validity
periods, the meaning of submit_sm_resp statuses, delivery receipts, members' texts, and message
ids in their many spellings. Command ids and statuses go by smpplib's names."""

import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from smpplib import consts
from smpplib.command_codes import get_command_code

from ..base import PermanentProviderError, ProviderError, Receipt, TransientProviderError

# --- PDU headers ----------------------------------------------------------------------------

HEADER = struct.Struct(">LLLL")  # command_length, command_id, command_status, sequence_number
RESPONSE_BIT = 0x80000000  # set in the command_id of every response
GENERIC_NACK = get_command_code("generic_nack")
BIND_TRANSCEIVER_RESP = get_command_code("bind_transceiver_resp")
SUBMIT_SM = get_command_code("submit_sm")
SUBMIT_SM_RESP = get_command_code("submit_sm_resp")
DELIVER_SM = get_command_code("deliver_sm")
DELIVER_SM_RESP = get_command_code("deliver_sm_resp")
UNBIND = get_command_code("unbind")
UNBIND_RESP = get_command_code("unbind_resp")
ENQUIRE_LINK = get_command_code("enquire_link")
ENQUIRE_LINK_RESP = get_command_code("enquire_link_resp")


def header_pdu(command_id: int, sequence: int, status: int = consts.SMPP_ESME_ROK) -> bytes:
    """A PDU with no body: enquire_link, enquire_link_resp, unbind_resp, generic_nack."""
    return HEADER.pack(HEADER.size, command_id, status, sequence)


def deliver_sm_resp_pdu(sequence: int, status: int) -> bytes:
    """A deliver_sm_resp, whose body is an empty message_id."""
    return HEADER.pack(HEADER.size + 1, DELIVER_SM_RESP, status, sequence) + b"\x00"


# --- GSM 03.38 ------------------------------------------------------------------------------

_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
GSM_SEPTETS = {ch: bytes([i]) for i, ch in enumerate(_GSM_BASIC) if ch != "\x1b"}
GSM_SEPTETS.update({ch: bytes([0x1B, code]) for ch, code in _GSM_EXTENDED.items()})

DATA_CODING_GSM7 = consts.SMPP_ENCODING_DEFAULT  # the SMSC default alphabet, one septet per octet
DATA_CODING_UCS2 = consts.SMPP_ENCODING_ISO10646
ESM_CLASS_UDHI = consts.SMPP_GSMFEAT_UDHI
ESM_CLASS_RECEIPT = 0x04
ESM_CLASS_INTERMEDIATE = 0x20


@dataclass(frozen=True)
class SmsParts:
    data_coding: int
    esm_class: int
    payloads: list[bytes]  # each part's short_message, with its UDH when split


def sms_parts(*, text: str, encoding: str = "gsm7", reference: int = 0) -> SmsParts:
    """The text as submit_sm short_messages: GSM 03.38 when every character has a septet (and
    UCS-2 was not asked for), UCS-2 otherwise; past 160 septets or 70 UTF-16 units it is split
    into parts of 153 or 67 with an 8-bit concatenation UDH, never through an escape or a
    surrogate pair. Raises PermanentProviderError past 255 parts."""
    units = None
    if encoding != "ucs2":
        try:
            units = [GSM_SEPTETS[ch] for ch in text]
        except KeyError:
            units = None
    if units is not None:
        data_coding, single, size = DATA_CODING_GSM7, 160, 153
    else:
        encoded = text.encode("utf-16-be")
        units, i = [], 0
        while i < len(encoded):
            step = 4 if 0xD8 <= encoded[i] <= 0xDB else 2  # a surrogate pair stays whole
            units.append(encoded[i : i + step])
            i += step
        data_coding, single, size = DATA_CODING_UCS2, 70, 67
    whole = b"".join(units)
    if (len(whole) if data_coding == DATA_CODING_GSM7 else len(whole) // 2) <= single:
        return SmsParts(data_coding=data_coding, esm_class=0, payloads=[whole])
    weight = (lambda unit: len(unit)) if data_coding == DATA_CODING_GSM7 else (lambda unit: len(unit) // 2)
    chunks: list[bytes] = []
    current: list[bytes] = []
    filled = 0
    for unit in units:
        if filled + weight(unit) > size:
            chunks.append(b"".join(current))
            current, filled = [], 0
        current.append(unit)
        filled += weight(unit)
    chunks.append(b"".join(current))
    if len(chunks) > 255:
        raise PermanentProviderError("text too long for 255 concatenated parts", code="too_long")
    header = bytes([0x05, consts.SMPP_UDHIEIE_CONCATENATED, 0x03, reference & 0xFF, len(chunks)])
    payloads = [header + bytes([number]) + chunk for number, chunk in enumerate(chunks, start=1)]
    return SmsParts(data_coding=data_coding, esm_class=ESM_CLASS_UDHI, payloads=payloads)


def _c_octets(value: str, size: int) -> bytes:
    return value.encode("latin-1", "replace")[: size - 1] + b"\x00"


def submit_sm_pdu(
    *,
    sequence: int,
    destination_addr: str,
    short_message: bytes,
    service_type: str = "",
    source_addr_ton: int = 0,
    source_addr_npi: int = 0,
    source_addr: str = "",
    dest_addr_ton: int = consts.SMPP_TON_INTL,
    dest_addr_npi: int = consts.SMPP_NPI_ISDN,
    esm_class: int = 0,
    protocol_id: int = 0,
    priority_flag: int = 0,
    schedule_delivery_time: str = "",
    validity_period: str = "",
    registered_delivery: int = consts.SMPP_SMSC_DELIVERY_RECEIPT_BOTH,
    replace_if_present_flag: int = 0,
    data_coding: int = 0,
    sm_default_msg_id: int = 0,
) -> bytes:
    """A submit_sm PDU, byte for byte what smpplib's SubmitSM.generate() gives for the same
    fields (a test holds them equal), at a twentieth of the cost: it is on every message's path."""
    if len(short_message) > 254:
        raise PermanentProviderError("short_message longer than 254 octets", code="too_long")
    body = b"".join(
        (
            _c_octets(service_type, 6),
            bytes((source_addr_ton, source_addr_npi)),
            _c_octets(source_addr, 21),
            bytes((dest_addr_ton, dest_addr_npi)),
            _c_octets(destination_addr, 21),
            bytes((esm_class, protocol_id, priority_flag)),
            _c_octets(schedule_delivery_time, 17),
            _c_octets(validity_period, 17),
            bytes((registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id, len(short_message))),
            short_message,
        )
    )
    return HEADER.pack(HEADER.size + len(body), SUBMIT_SM, consts.SMPP_ESME_ROK, sequence) + body


def validity_period(expires_at: datetime | None) -> str:
    """SMPP absolute time in UTC ("YYMMDDhhmmss000+"), or "" for the SMSC's default."""
    if expires_at is None:
        return ""
    return expires_at.astimezone(UTC).strftime("%y%m%d%H%M%S") + "000+"


def address_ton_npi(address: str) -> tuple[str, int, int]:
    """The address as sent and its type of number and numbering plan: international digits
    (TON 1, NPI 1), a short code (TON 3, NPI 0), or an alphanumeric sender (TON 5, NPI 0)."""
    address = address.strip()
    digits = address.removeprefix("+")
    if digits.isdecimal():
        if address.startswith("+") or len(digits) > 8:
            return digits, consts.SMPP_TON_INTL, consts.SMPP_NPI_ISDN
        return digits, consts.SMPP_TON_NWSPEC, consts.SMPP_NPI_UNK
    return address, consts.SMPP_TON_ALNUM, consts.SMPP_NPI_UNK


# --- submit_sm_resp statuses ----------------------------------------------------------------

STATUS_NAMES = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(consts).items()
    if name.startswith("SMPP_ESME_R") and isinstance(value, int)
}

PERMANENT_STATUSES = frozenset(
    {
        consts.SMPP_ESME_RINVMSGLEN,
        consts.SMPP_ESME_RINVPRTFLG,
        consts.SMPP_ESME_RINVREGDLVFLG,
        consts.SMPP_ESME_RINVSRCADR,
        consts.SMPP_ESME_RINVDSTADR,
        consts.SMPP_ESME_RINVSERTYP,
        consts.SMPP_ESME_RINVESMCLASS,
        consts.SMPP_ESME_RINVSRCTON,
        consts.SMPP_ESME_RINVSRCNPI,
        consts.SMPP_ESME_RINVDSTTON,
        consts.SMPP_ESME_RINVDSTNPI,
        consts.SMPP_ESME_RINVSYSTYP,
        consts.SMPP_ESME_RINVSCHED,
        consts.SMPP_ESME_RINVEXPIRY,
        consts.SMPP_ESME_RX_P_APPN,
        consts.SMPP_ESME_RX_R_APPN,
        consts.SMPP_ESME_RINVOPTPARSTREAM,
        consts.SMPP_ESME_ROPTPARNOTALLWD,
        consts.SMPP_ESME_RINVPARLEN,
        consts.SMPP_ESME_RMISSINGOPTPARAM,
        consts.SMPP_ESME_RINVOPTPARAMVAL,
    }
)


def submit_status_error(status: int) -> ProviderError | None:
    """What a submit_sm_resp's command_status means for the message: None for ESME_ROK, a
    PermanentProviderError for a refusal of the message itself (bad number, bad sender, bad
    parameters), else a TransientProviderError (throttled, queue full, system error, unknown)."""
    if status == consts.SMPP_ESME_ROK:
        return None
    name = STATUS_NAMES.get(status, f"0x{status:08X}")
    description = consts.DESCRIPTIONS.get(status, "SMSC error")
    if status in PERMANENT_STATUSES:
        return PermanentProviderError(f"{name}: {description}", code=name)
    return TransientProviderError(f"{name}: {description}", code=name)


# --- message ids ----------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-f]+")


def smpp_message_id_normal(message_id: str | bytes | None) -> str:
    """The id as this backend reports it: trimmed (NULs, spaces), and when it is made of hex
    digits only, lower-cased without leading zeros ("000A1B" -> "a1b", "000123" -> "123").
    Other ids (UUIDs, mixed text) are only trimmed."""
    if isinstance(message_id, bytes):
        message_id = message_id.decode("latin-1")
    text = (message_id or "").strip().strip("\x00").strip()
    lowered = text.lower()
    if _HEX.fullmatch(lowered):
        return lowered.lstrip("0") or "0"
    return text


def smpp_message_id_forms(message_id: str | bytes | None) -> set[str]:
    """Every normal id (smpp_message_id_normal) that a receipt's id may stand for: itself, and
    when SMSCs write the submit_sm_resp id and the receipt id in different bases, its decimal
    digits read as hex and written in hex, or its hex digits read as an integer written in
    decimal. A receipt matches the submitted message whose normal id is in this set:
    `provider_message_id__in=smpp_message_id_forms(receipt.provider_message_id)`."""
    normal = smpp_message_id_normal(message_id)
    if not normal:
        return set()
    forms = {normal}
    if _HEX.fullmatch(normal):
        if normal.isdecimal():
            forms.add(format(int(normal, 10), "x"))
        forms.add(str(int(normal, 16)))
    return forms


# --- delivery receipts ----------------------------------------------------------------------

_RECEIPT_FIELDS = re.compile(r"\b(id|stat|err|done date):\s*(\S+)", re.IGNORECASE)
MESSAGE_STATES = {  # the message_state TLV, as the receipt text spells it
    consts.SMPP_MESSAGE_STATE_ENROUTE: "ENROUTE",
    consts.SMPP_MESSAGE_STATE_DELIVERED: "DELIVRD",
    consts.SMPP_MESSAGE_STATE_EXPIRED: "EXPIRED",
    consts.SMPP_MESSAGE_STATE_DELETED: "DELETED",
    consts.SMPP_MESSAGE_STATE_UNDELIVERABLE: "UNDELIV",
    consts.SMPP_MESSAGE_STATE_ACCEPTED: "ACCEPTD",
    consts.SMPP_MESSAGE_STATE_UNKNOWN: "UNKNOWN",
    consts.SMPP_MESSAGE_STATE_REJECTED: "REJECTD",
}
INTERMEDIATE_STATES = frozenset({"ENROUTE", "ACCEPTD", "BUFFRED", "SCHEDULED", "SKIPPED"})


def receipt_from_deliver_sm(
    *, esm_class: int, short_message: bytes, receipted_message_id=None, message_state=None, provider: str = ""
) -> Receipt | None:
    """A final delivery receipt from a deliver_sm, or None (an MO text, or an intermediate
    state such as ENROUTE). The id comes from the receipted_message_id TLV when present, else
    from the `id:` of the receipt text; the state from `stat:` or the message_state TLV."""
    is_receipt = bool(esm_class & (ESM_CLASS_RECEIPT | ESM_CLASS_INTERMEDIATE)) or bool(receipted_message_id)
    if not is_receipt:
        return None
    text = (short_message or b"").decode("latin-1")
    fields = {key.lower(): value for key, value in _RECEIPT_FIELDS.findall(text)}
    message_id = smpp_message_id_normal(receipted_message_id) or smpp_message_id_normal(fields.get("id"))
    if not message_id:
        return None
    status = (fields.get("stat") or MESSAGE_STATES.get(message_state or 0, "")).upper()
    if not status or status in INTERMEDIATE_STATES:
        return None
    at = None
    done = fields.get("done date", "")
    pattern = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}.get(len(done))
    if pattern and done.isdecimal():
        try:
            at = datetime.strptime(done, pattern).replace(tzinfo=UTC)
        except ValueError:
            at = None
    error_code = fields.get("err", "")
    return Receipt(
        provider_message_id=message_id,
        delivered=status.startswith("DELIV"),
        status=status,
        error_code="" if error_code.strip("0") == "" else error_code,
        provider=provider,
        at=at,
    )


# --- mobile-originated texts (inbound) ------------------------------------------------------

_GSM_FROM_SEPTET = {i: ch for i, ch in enumerate(_GSM_BASIC) if ch != "\x1b"}
_GSM_FROM_ESCAPED = {code: ch for ch, code in _GSM_EXTENDED.items()}


@dataclass(frozen=True)
class InboundText:
    """A text a handset sent, as an SMSC hands it over in deliver_sm."""

    source_addr: str
    destination_addr: str
    text: str


def gsm_decode(octets: bytes) -> str:
    """GSM 03.38, one septet per octet (the SMSC default alphabet, unpacked), escapes resolved."""
    out, escaped = [], False
    for octet in octets:
        octet &= 0x7F
        if escaped:
            out.append(_GSM_FROM_ESCAPED.get(octet, _GSM_FROM_SEPTET.get(octet, "")))
            escaped = False
        elif octet == 0x1B:
            escaped = True
        else:
            out.append(_GSM_FROM_SEPTET[octet])
    return "".join(out)


def short_message_text(short_message: bytes, *, data_coding: int, esm_class: int = 0) -> str:
    """The text of a short_message: its UDH dropped, decoded by its data_coding (GSM default,
    IA5/ASCII, Latin-1 or UCS-2; anything else read as Latin-1)."""
    payload = short_message or b""
    if esm_class & ESM_CLASS_UDHI and payload:
        payload = payload[1 + payload[0] :]
    coding = data_coding & 0xFF
    if coding in (DATA_CODING_UCS2, 0x18) or coding & 0xEC == 0x48:  # UCS-2, also in the message-class groups
        return payload[: len(payload) // 2 * 2].decode("utf-16-be", "replace")
    if coding == DATA_CODING_GSM7 or coding & 0xF4 == 0xF0 or coding & 0xEC == 0x40:  # default alphabet
        return gsm_decode(payload)
    if coding == consts.SMPP_ENCODING_IA5:
        return payload.decode("ascii", "replace")
    return payload.decode("latin-1")


def inbound_from_deliver_sm(
    *,
    esm_class: int,
    data_coding: int,
    short_message: bytes,
    source_addr: str,
    destination_addr: str,
    message_payload: bytes | None = None,
    receipted_message_id=None,
) -> InboundText | None:
    """A mobile-originated text from a deliver_sm, or None when the deliver_sm is a receipt."""
    if esm_class & (ESM_CLASS_RECEIPT | ESM_CLASS_INTERMEDIATE) or receipted_message_id:
        return None
    body = short_message or message_payload or b""
    return InboundText(
        source_addr=source_addr or "",
        destination_addr=destination_addr or "",
        text=short_message_text(body, data_coding=data_coding, esm_class=esm_class),
    )
