"""Checking and normalising what a client says about a member: the rules of the Volt MX
audience (required fields, state in the USA, E.164 mobiles, typed custom attributes).

Plain functions of plain values, shared by the API, the admin and the CSV import. Each raises
ValueError with a sentence a client can act on.
"""

import datetime
import math
import re

import phonenumbers
from django.conf import settings
from django.utils import timezone

from audiences.models import AttributeType, AudienceAttribute
from audiences.segments import MEMBER_FIELDS

USA_NAMES = frozenset({"us", "usa", "u.s.", "u.s.a.", "united states", "united states of america", "america"})
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
_E164_SHAPE = re.compile(r"^\+[1-9]\d{5,14}$")
# Volt MX names attributes as people read them ("Street Address", "Social Security No."): a letter,
# then letters, digits, spaces, _ . - and no space at the end.
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_.\- ]{0,62}[A-Za-z0-9_.\-])?$")
# Keys of a member body that are not custom attributes (the API's own names and its aliases).
MEMBER_BODY_KEYS = frozenset(
    {
        "id",
        "emailId",
        "mobile",
        "mobileNo",
        "attributes",
        "lastActiveDateStr",
        "createdDateStr",
        "lastModifiedDateStr",
    }
)
INVALID_ATTRIBUTES = "The request contains invalid attributes"
ATTRIBUTE_TYPES = {"String": "string", "Number": "number", "Pick List": "picklist", "Date": "date"}
MAX_ATTRIBUTES = 30
MAX_STRING_VALUE = 500

# First digits of a national number -> the region that numbers starting so belong to (a cache that
# spares phonenumbers trying every region of a shared country code such as +1).
_REGION_BY_PREFIX: dict[tuple[int | None, str], str] = {}


def is_usa(country: str) -> bool:
    return (country or "").strip().lower() in USA_NAMES


def country_region(country: str) -> str | None:
    """The phone region a country names, when it is plain (the USA, or an ISO code like KE)."""
    if is_usa(country):
        return "US"
    code = (country or "").strip().upper()
    return code if len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS else None


def required_text(value, name: str, *, max_length: int) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        raise ValueError(f"{name} is required")
    text = str(value).strip()
    if not text:
        raise ValueError(f"{name} is required")
    if len(text) > max_length:
        raise ValueError(f"{name} is longer than {max_length} characters")
    return text


def optional_text(value, name: str, *, max_length: int) -> str:
    if value is None or value == "":
        return ""
    return required_text(value, name, max_length=max_length)


def email_clean(value) -> str:
    text = required_text(value, "email", max_length=254).lower()
    if not _EMAIL.match(text):
        raise ValueError(f"email {text!r} is not an email address")
    return text


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


def mobile_clean(value, *, region: str | None = None) -> str | None:
    """A mobile number in E.164 (with its leading +), or None when none is given."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("mobileNumber is not a phone number")
    text = str(value).strip()
    if not text:
        return None
    if _E164_SHAPE.match(text):
        if _e164_as_written(text):
            return text
        candidates: list[tuple[str, str | None]] = [(text, None)]
    else:
        candidates = [(text, region or settings.SMS_DEFAULT_REGION)]
        digits = re.sub(r"[\s().-]", "", text)
        if digits.isdecimal():
            candidates.append(("+" + digits, None))
    for candidate, candidate_region in candidates:
        try:
            number = phonenumbers.parse(candidate, candidate_region)
        except phonenumbers.NumberParseException:
            continue
        if _is_valid(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValueError(f"mobileNumber {text!r} is not a valid phone number (write it in E.164, like +14155550123)")


def boolean_clean(value, name: str, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y"):
        return True
    if text in ("false", "0", "no", "n"):
        return False
    raise ValueError(f"{name} must be true or false")


def moment_clean(value, name: str) -> datetime.datetime | None:
    """A time given as ISO-8601 (date or date and time), mm/dd/yyyy, or epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} is not a date")
    text = str(value).strip()
    moment = None
    if text.isdecimal() and len(text) >= 9:
        try:
            moment = datetime.datetime.fromtimestamp(int(text) / 1000, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{name} is out of range") from None
    else:
        for parse in (datetime.datetime.fromisoformat, lambda t: datetime.datetime.strptime(t, "%m/%d/%Y")):
            try:
                moment = parse(text.replace("Z", "+00:00") if text.endswith("Z") else text)
                break
            except ValueError:
                continue
    if moment is None:
        raise ValueError(f"{name} {text!r} is not a date (use ISO-8601, like 2024-05-31T12:00:00Z)")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)


def attribute_name_clean(name) -> str:
    text = required_text(name, "name", max_length=64)
    if not _ATTRIBUTE_NAME.match(text):
        raise ValueError("an attribute name starts with a letter and holds letters, digits, spaces and _ . - only")
    reserved = {key.lower() for key in (*MEMBER_FIELDS, *MEMBER_BODY_KEYS)}
    if text.lower() in reserved:
        raise ValueError(f"{text!r} is a member field, not a custom attribute")
    return text


def invalid_attributes(keys) -> str:
    """The Volt MX text for body keys the API does not know, followed by the keys themselves."""
    return f"{INVALID_ATTRIBUTES} : {', '.join(sorted(str(key) for key in keys))}"


def attribute_type_clean(value) -> str | None:
    """The stored type of a Volt MX attributeType ("String", "Number", "Pick List", "Date", any
    case), or None when it is none of them."""
    if not isinstance(value, str):
        return None
    wanted = " ".join(value.split()).lower()
    for label, stored in ATTRIBUTE_TYPES.items():
        if wanted in (label.lower(), stored):
            return stored
    return None


def attribute_type_label(stored: str) -> str:
    return next((label for label, kind in ATTRIBUTE_TYPES.items() if kind == stored), stored)


def allowed_values_clean(value) -> list[str]:
    """A pick list's allowed values: Volt MX sends one string (comma-separated here); a list is taken too."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else str(value).split(",") if isinstance(value, str) else None
    if items is None or not all(isinstance(item, str) for item in items):
        raise ValueError("allowedValues must be text, the values separated by commas")
    cleaned = [item.strip() for item in items if item.strip()]
    if any(len(item) > MAX_STRING_VALUE for item in cleaned) or len(cleaned) > 1000:
        raise ValueError("allowedValues holds too many or too long values")
    return list(dict.fromkeys(cleaned))


def attribute_value_clean(declared: AudienceAttribute, value):
    """A custom attribute's value as stored: str, int or float, or YYYY-MM-DD; None to remove it."""
    name = declared.name
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list)):
        raise ValueError(f"attribute {name} must be a single value")
    if declared.type == AttributeType.NUMBER:
        if isinstance(value, bool):
            raise ValueError(f"attribute {name} must be a number")
        if isinstance(value, (int, float)):
            number = value
        else:
            text = str(value).strip()
            try:
                number = int(text) if re.fullmatch(r"-?\d{1,15}", text) else float(text)
            except ValueError:
                raise ValueError(f"attribute {name} must be a number") from None
        if isinstance(number, float):
            if not math.isfinite(number):
                raise ValueError(f"attribute {name} must be a finite number")
            if number.is_integer() and abs(number) < 2**53:
                number = int(number)
        if isinstance(number, int) and abs(number) >= 2**53:
            raise ValueError(f"attribute {name} is too large")
        return number
    if declared.type == AttributeType.DATE:
        text = str(value).strip()
        if re.fullmatch(r"\d{2}/\d{2}/\d{4}", text):  # Volt MX writes dates MM/dd/yyyy
            try:
                return datetime.datetime.strptime(text, "%m/%d/%Y").date().isoformat()
            except ValueError:
                return _bad_date(name)
        try:
            return datetime.date.fromisoformat(text[:10]).isoformat() if len(text) >= 10 else _bad_date(name)
        except ValueError:
            return _bad_date(name)
    text = str(value) if not isinstance(value, bool) else ("true" if value else "false")
    text = text.strip()
    if len(text) > MAX_STRING_VALUE:
        raise ValueError(f"attribute {name} is longer than {MAX_STRING_VALUE} characters")
    if declared.type == AttributeType.PICK_LIST and declared.choices and text not in declared.choices:
        raise ValueError(f"attribute {name} must be one of {', '.join(map(str, declared.choices))}")
    return text


def _bad_date(name):
    raise ValueError(f"attribute {name} must be a date written MM/dd/yyyy or YYYY-MM-DD")


def attributes_declared() -> dict[str, AudienceAttribute]:
    return {attribute.name: attribute for attribute in AudienceAttribute.objects.all()}


def attributes_clean(given, declared: dict[str, AudienceAttribute], *, current: dict | None = None) -> dict:
    """Custom attributes merged onto the current ones; a None or empty value removes one."""
    if given is None:
        return dict(current or {})
    if not isinstance(given, dict):
        raise ValueError("attributes must be an object of name: value")
    merged = dict(current or {})
    for name, value in given.items():
        if name not in declared:
            raise ValueError(f"unknown attribute {name!r}")
        cleaned = attribute_value_clean(declared[name], value)
        if cleaned is None:
            merged.pop(name, None)
        else:
            merged[name] = cleaned
    return merged


def date_str(moment) -> str:
    """A time as Volt MX writes its `…DateStr` fields: MM/dd/yyyy hh:mm:ss a z, in the gateway's zone."""
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%m/%d/%Y %I:%M:%S %p %Z")


_DATE_STR = re.compile(r"\s*(\d{2}/\d{2}/\d{4} \d{1,2}:\d{2}:\d{2} [AaPp][Mm])(?: [A-Za-z][A-Za-z0-9+:-]{0,9})?\s*")


def date_str_clean(value, name: str) -> datetime.datetime | None:
    """A time written as a `…DateStr` (MM/dd/yyyy hh:mm:ss a, with a zone name that is dropped: the
    gateway's zone is assumed), or in any form moment_clean takes."""
    if isinstance(value, str):
        match = _DATE_STR.fullmatch(value)
        if match:
            try:
                moment = datetime.datetime.strptime(match.group(1).upper(), "%m/%d/%Y %I:%M:%S %p")
            except ValueError:
                raise ValueError(f"{name} {value.strip()!r} is not a date") from None
            return timezone.make_aware(moment)
    return moment_clean(value, name)
