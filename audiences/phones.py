"""Phone numbers to E.164: the one rule, for every number the gateway reads.

`phone_e164` reads a text as a phone number and writes it in E.164 (`+` and digits), or answers
None. Three readers once held their own copy of it, and they differed on purpose in two ways,
which the function keeps as its parameters:

- **Where a number is written without its country** (`region`). A partner's send request must
  write E.164 with its leading + (CONTRACT sections 2, 3): the send API passes no region, and a text
  without the + is no number. A member's mobile (the audience API, the admin, the CSV import) is
  written as a person writes it: nationally, read in the member's region (or the gateway's
  `SMS_DEFAULT_REGION`), else, when it is digits alone, as the international number those digits
  spell.
- **How sure the number must be** (`reported`). A number the gateway sends to must be valid:
  assigned in phonenumbers' metadata. A number a provider reports (an inbound sender) need only be
  possible (the right length for its country): whoever texted STOP from a range the metadata does
  not know yet must still be heard. Providers also drop the + of an international sender, so a
  bare run of more than 10 digits is read as international first.

The send API and the member readers agree on every text that starts with +; the shortcut below
(`_e164_as_written`) answers as phonenumbers would, only faster, for the common case of a bulk
import already in E.164.
"""

import re

import phonenumbers
from django.conf import settings

E164_SHAPE = re.compile(r"^\+[1-9]\d{5,14}$")
# First digits of a national number -> the region that numbers starting so belong to (a cache that
# spares phonenumbers trying every region of a shared country code such as +1).
_REGION_BY_PREFIX: dict[tuple[int | None, str], str] = {}


def phone_e164(text: str, *, region: str | None = None, reported: bool = False) -> str | None:
    """The number `text` writes, in E.164, or None when it writes none.

    `region` (ISO code): read a number written without its country there; None reads only the
    international form (a leading +). `reported`: a sender a provider reports, which need only be
    possible, with a bare run of over 10 digits read as international, and the gateway's region
    for the rest."""
    text = (text or "").strip()
    if not text:
        return None
    if reported:
        return _reported_e164(text)
    if E164_SHAPE.match(text) and _e164_as_written(text):
        return text
    number = phone_parsed(text, region=region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if number else None


def phone_parsed(text: str, *, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    """The valid number `text` writes, parsed (for its type, its country), or None; read as
    `phone_e164` reads a number to send to."""
    text = (text or "").strip()
    if region is None or E164_SHAPE.match(text):
        if not text.startswith("+"):
            return None
        candidates: list[tuple[str, str | None]] = [(text, None)]
    else:
        candidates = [(text, region)]
        digits = re.sub(r"[\s().-]", "", text)
        if digits.isdecimal():
            candidates.append(("+" + digits, None))
    for candidate, candidate_region in candidates:
        try:
            number = phonenumbers.parse(candidate, candidate_region)
        except phonenumbers.NumberParseException:
            continue
        if _is_valid(number):
            return number
    return None


def _reported_e164(text: str) -> str | None:
    if not text.startswith("+") and text.isascii() and text.isdigit() and len(text) > 10:
        text = "+" + text
    try:
        number = phonenumbers.parse(text, settings.SMS_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _is_valid(number: phonenumbers.PhoneNumber) -> bool:
    key = (number.country_code, str(number.national_number)[:3])
    region = _REGION_BY_PREFIX.get(key)
    if region is not None and phonenumbers.is_valid_number_for_region(number, region):
        return True
    if not phonenumbers.is_valid_number(number):
        return False
    found = phonenumbers.region_code_for_number(number)
    if found and len(_REGION_BY_PREFIX) < 100_000:
        _REGION_BY_PREFIX[key] = found
    return True


_PREFIX_PATTERNS: dict[str, re.Pattern | None] = {}


def _e164_as_written(text: str) -> bool:
    """True when a +digits text is a valid number that phonenumbers would write back unchanged.

    A shortcut past phonenumbers.parse for the common case (a bulk import of E.164 numbers); it
    answers False (undecided) wherever parse could read the digits differently: a national part
    that starts with 0 or with the region's national prefix, or a non-geographic country code.
    """
    digits = text[1:]
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return False
    national = digits[size:]
    if not national or national[0] == "0":
        return False
    region = phonenumbers.region_code_for_country_code(country_code)
    if region in ("ZZ", "001"):
        return False
    if region not in _PREFIX_PATTERNS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        prefix = metadata.national_prefix_for_parsing if metadata else None
        _PREFIX_PATTERNS[region] = re.compile(prefix) if prefix else None
    prefix_pattern = _PREFIX_PATTERNS[region]
    if prefix_pattern is not None and prefix_pattern.match(national):
        return False
    cached = _REGION_BY_PREFIX.get((country_code, national[:3]))
    if cached is not None and _valid_for_region(national, cached):
        return True
    return _is_valid(phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national)))


_DESC_NAMES = (  # validity does not depend on the order: the common types are tried first
    "mobile",
    "fixed_line",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
_COMPILED_DESCS: dict[str, tuple] = {}


def _compiled(desc):
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)


def _valid_for_region(national: str, region: str) -> bool:
    """phonenumbers' own test (general pattern, then any number type's pattern and lengths),
    with the patterns compiled once per region."""
    if region not in _COMPILED_DESCS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            return False
        specific = [_compiled(getattr(metadata, name)) for name in _DESC_NAMES]
        _COMPILED_DESCS[region] = (_compiled(metadata.general_desc), [d for d in specific if d is not None])
    general, specific = _COMPILED_DESCS[region]

    def matches(desc):
        lengths, pattern = desc
        return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None

    return general is not None and matches(general) and any(matches(desc) for desc in specific)
