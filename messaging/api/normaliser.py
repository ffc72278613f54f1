"""From the parsed tree of a send request to typed message specs, or the CONTRACT's errors.

The tree comes from JSON or XML alike (CONTRACT section 2): one object or a list wherever one
is allowed, every scalar possibly a string. Nothing here touches the database; the caller says
which segment ids exist.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

import phonenumbers
from django.conf import settings

from audiences.booleans import boolean_from_text
from audiences.complexity import CompiledSize, criteria_size, criteria_size_problem
from audiences.criteria import CriteriaError, criteria_segment_ids, parse_criteria
from audiences.phones import phone_parsed
from messaging.errors import BOTH_GIVEN, PARSE_FAILED, ContractError, Problem, invalid_format
from messaging.ids import id_from_text
from messaging.models import Channel
from messaging.specs import NUMBER_TYPE_NAMES, MessageSpec, RecipientRef

CHANNELS = {
    "text": Channel.TEXT,
    "textsms": Channel.TEXT,
    "sms": Channel.TEXT,
    "voice": Channel.VOICE,
    "voicesms": Channel.VOICE,
}
MAX_CONTENT_CHARS = 5000
# The keys each level of the tree may hold (CONTRACT section 2); any other is refused, never dropped.
REQUEST_KEYS = frozenset({"messages"})
MESSAGES_KEYS = frozenset({"message", "channel"})
MESSAGE_KEYS = frozenset(
    {
        "startTimestamp",
        "expiryTimestamp",
        "priorityService",
        "recipients",
        "content",
        "channel",
        "sendVoiceSmsOnFailure",
    }
)
RECIPIENTS_KEYS = frozenset({"recipient", "segment"})
RECIPIENT_KEYS = frozenset({"id", "mobile"})
SEGMENT_KEYS = frozenset({"criteria"})


class _Invalid(Exception):
    pass


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def scalar(value):
    """A leaf value: XML text with attributes keeps its text under '#text'."""
    if isinstance(value, dict) and "#text" in value:
        return value["#text"]
    return value


def parse_bool(value, name, *, required=False, default=False):
    value = scalar(value)
    if value is None or value == "":
        if required:
            raise _Invalid(f"{name} is required")
        return default
    flag = boolean_from_text(value)
    if flag is None:
        raise _Invalid(f"{name} must be true or false")
    return flag


def parse_timestamp(value, name):
    """'0', absent or empty means unset; else epoch milliseconds or ISO-8601."""
    value = scalar(value)
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise _Invalid(f"{name} is not a time")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise _Invalid(f"{name} is not a time")
    if text in ("", "0"):
        return None
    if text.isascii() and text.isdigit():
        millis = int(text)
        try:
            return datetime.fromtimestamp(millis / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise _Invalid(f"{name} is out of range") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid(f"{name} is not a time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_channel(value):
    value = scalar(value)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() in CHANNELS:
        return CHANNELS[value.strip().lower()]
    raise _Invalid("unknown channel")


def parse_mobile(value):
    return parse_mobile_typed(value)[0]


def parse_mobile_typed(value) -> tuple[str, str]:
    """(the number in E.164, its phonenumbers type by name), from one parse."""
    value = scalar(value)
    if not isinstance(value, str) or not value.strip().startswith("+"):
        raise _Invalid("invalid mobile number")
    text = value.strip()
    # Partners send the same numbers again and again: a short one's parse is kept (a bounded
    # cache, at most 65,536 numbers, a few megabytes); a longer text is parsed each time.
    typed = _mobile_typed_kept(text) if len(text) <= 32 else _mobile_typed(text)
    if typed is None:
        raise _Invalid("invalid mobile number")
    return typed


def _mobile_typed(text: str) -> tuple[str, str] | None:
    number = phone_parsed(text)  # no region: a partner writes E.164, with its leading +
    if number is None:
        return None
    kind = NUMBER_TYPE_NAMES.get(phonenumbers.number_type(number), "UNKNOWN")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind


def parse_member_id(value):
    number = id_from_text(scalar(value))
    if number is None:
        raise _Invalid("invalid recipient id")
    return number


def unknown_keys(node, allowed: frozenset) -> list[str]:
    """The keys of an object that its level does not know, in the order given."""
    if not isinstance(node, dict):
        return []
    return [str(key) for key in node if key not in allowed]


def _invalid_attributes(keys, position=None) -> list[Problem]:
    return [Problem(f"invalid attribute {key}", position) for key in dict.fromkeys(keys)]


def _request_unknown_keys(tree) -> list[Problem]:
    """Unknown keys above the messages: beside the root, in smsServiceRequest and in messages."""
    request_node = tree["smsServiceRequest"]
    keys = [key for key in tree if key != "smsServiceRequest"] + unknown_keys(request_node, REQUEST_KEYS)
    for messages in as_list(request_node.get("messages")):
        keys += unknown_keys(messages, MESSAGES_KEYS)
    return _invalid_attributes(keys)


def _message_unknown_keys(message) -> list[str]:
    keys = unknown_keys(message, MESSAGE_KEYS)
    for recipients in as_list(message.get("recipients")):
        keys += unknown_keys(recipients, RECIPIENTS_KEYS)
        if isinstance(recipients, dict):
            for entry in as_list(recipients.get("recipient")):
                keys += unknown_keys(entry, RECIPIENT_KEYS)
            for entry in as_list(recipients.get("segment")):
                keys += unknown_keys(entry, SEGMENT_KEYS)
    return [f"invalid attribute {key}" for key in keys]


def flatten_messages(request_node):
    """Each `message` with the `channel` of the `messages` it stands in."""
    flat = []
    for messages in as_list(request_node.get("messages")):
        if not isinstance(messages, dict):
            flat.append((messages, None))
            continue
        default_channel = messages.get("channel")
        for message in as_list(messages.get("message")):
            flat.append((message, default_channel))
    return flat


def normalise_send_request(
    tree,
    *,
    now: datetime,
    existing_segment_ids: Callable[[set[int]], set[int]],
    segment_sizes: Callable[[set[int]], dict[int, CompiledSize]] | None = None,
):
    """The message specs of a send request, or the ContractError that refuses it whole.

    `segment_sizes` gives the compiled size of each segment that can be evaluated; with it, a
    segment that cannot is an invalid criteria, and the criteria are bounded in size
    (audiences.complexity) before any query over members runs.
    """
    if not isinstance(tree, dict) or not isinstance(tree.get("smsServiceRequest"), dict):
        raise ContractError(PARSE_FAILED)
    flat = flatten_messages(tree["smsServiceRequest"])
    entries = _sizes_check(flat)
    problems: list[Problem] = _request_unknown_keys(tree)
    specs: list[MessageSpec] = []
    parsed_criteria: list[tuple[int, str, object]] = []
    for position, ((message, default_channel), (recipient_entries, segment_entries)) in enumerate(
        zip(flat, entries, strict=True), start=1
    ):
        if not isinstance(message, dict):
            problems.append(Problem("message must be an object", position))
            continue
        if recipient_entries and segment_entries:
            raise ContractError(BOTH_GIVEN.format(n=position))
        spec, message_problems = _normalise_message(message, position, default_channel, now)
        if not recipient_entries and not segment_entries:
            message_problems.append("recipients are required")
        for entry in recipient_entries:
            try:
                spec.recipients.append(_recipient_ref(entry))
            except _Invalid as exc:
                message_problems.append(str(exc))
        for entry in segment_entries:
            criteria = scalar(entry.get("criteria")) if isinstance(entry, dict) else None
            try:
                tree_ = parse_criteria(criteria)
            except CriteriaError:
                message_problems.append("invalid segment criteria")
                continue
            spec.criteria.append(criteria.strip())
            parsed_criteria.append((position, criteria, tree_))
        message_problems += _message_unknown_keys(message)
        problems.extend(Problem(text, position) for text in dict.fromkeys(message_problems))
        specs.append(spec)

    if parsed_criteria:
        _criteria_problems(parsed_criteria, problems, existing_segment_ids, segment_sizes)
    if problems:
        problems.sort(key=lambda p: p.position or 0)
        raise invalid_format(problems)
    return specs


def _sizes_check(flat) -> list[tuple[list, list]]:
    """Sizes first: a request past the message or recipient limit is refused before any number or
    criteria is parsed. Each term of a criteria counts as a recipient entry. Returns each message's
    recipient and segment entries."""
    if not flat:
        raise invalid_format([Problem("message is required", 1)])
    if len(flat) > settings.SMS_MAX_MESSAGES:
        raise invalid_format([Problem(f"more than {settings.SMS_MAX_MESSAGES} messages")])
    entries = [_entries(message) for message, _ in flat]
    listed = sum(len(recipient_entries) for recipient_entries, _ in entries)
    if listed > settings.SMS_MAX_RECIPIENTS:
        raise invalid_format([Problem(f"more than {settings.SMS_MAX_RECIPIENTS} recipients")])
    terms = sum(_criteria_terms(entry) for _, segment_entries in entries for entry in segment_entries)
    if listed + terms > settings.SMS_MAX_RECIPIENTS:
        raise invalid_format([Problem(f"more than {settings.SMS_MAX_RECIPIENTS} recipients and segment terms")])
    return entries


def _criteria_problems(parsed_criteria, problems: list[Problem], existing_segment_ids, segment_sizes) -> None:
    """Add to `problems` each criteria naming a segment that does not exist (or cannot be
    evaluated, when `segment_sizes` is given), or past the bounds of audiences.complexity, once
    per message."""
    wanted = set().union(*(criteria_segment_ids(t) for _, _, t in parsed_criteria))
    known = existing_segment_ids(wanted)
    sizes = segment_sizes(known) if segment_sizes is not None and known else None
    conditions = 0
    for position, _, tree_ in parsed_criteria:
        named = criteria_segment_ids(tree_)
        text = None
        if not named <= known or (sizes is not None and not named <= set(sizes)):
            text = "invalid segment criteria"
        elif sizes is not None:
            size = criteria_size(tree_, sizes)
            text = criteria_size_problem(size, conditions_before=conditions)
            conditions += size.conditions
        if text is not None:
            problem = Problem(text, position)
            if not any(p.position == position and p.text == problem.text for p in problems):
                problems.append(problem)


def _entries(message):
    """The `recipient` and `segment` entries of a message, each as a list."""
    if not isinstance(message, dict):
        return [], []
    recipients_nodes = [node for node in as_list(message.get("recipients")) if isinstance(node, dict)]
    recipient_entries = [entry for node in recipients_nodes for entry in as_list(node.get("recipient"))]
    segment_entries = [entry for node in recipients_nodes for entry in as_list(node.get("segment"))]
    return recipient_entries, segment_entries


def _criteria_terms(entry) -> int:
    """The ##N## terms of one segment entry, counted without parsing it (at least one)."""
    criteria = scalar(entry.get("criteria")) if isinstance(entry, dict) else None
    if not isinstance(criteria, str):
        return 1
    return max(1, criteria.count("##") // 2)


def is_unicode_text(text: str) -> bool:
    """False for text holding a lone surrogate (JSON allows "\\ud800"), which no store can keep."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _recipient_ref(entry):
    if not isinstance(entry, dict):
        raise _Invalid("recipient needs an id or a mobile")
    if entry.get("id") not in (None, ""):
        return RecipientRef(member_id=parse_member_id(entry["id"]))
    if entry.get("mobile") not in (None, ""):
        mobile, kind = parse_mobile_typed(entry["mobile"])
        return RecipientRef(mobile=mobile, number_type=kind)
    raise _Invalid("recipient needs an id or a mobile")


def _normalise_message(message, position, default_channel, now):
    problems = []

    def attempt(parse, *args, fallback=None, **kwargs):
        try:
            return parse(*args, **kwargs)
        except _Invalid as exc:
            problems.append(str(exc))
            return fallback

    priority = attempt(parse_bool, message.get("priorityService"), "priorityService", required=True, fallback=False)
    start_at = attempt(parse_timestamp, message.get("startTimestamp"), "startTimestamp")
    expires_at = attempt(parse_timestamp, message.get("expiryTimestamp"), "expiryTimestamp")
    channel = attempt(parse_channel, message.get("channel"))
    if channel is None and "unknown channel" not in problems:
        channel = attempt(parse_channel, default_channel)
    voice_on_failure = attempt(parse_bool, message.get("sendVoiceSmsOnFailure"), "sendVoiceSmsOnFailure")
    content = scalar(message.get("content"))
    if isinstance(content, (int, float)) and not isinstance(content, bool):
        content = str(content)  # a number where a text was meant: sent as written
    if not isinstance(content, str) or not content.strip():
        problems.append("content is required")
        content = ""
    elif "\x00" in content:
        problems.append("content holds a NUL character")
    elif not is_unicode_text(content):
        problems.append("content is not valid Unicode text")
    elif len(content) > MAX_CONTENT_CHARS:
        problems.append(f"content longer than {MAX_CONTENT_CHARS} characters")
    start = start_at or now
    if expires_at is not None and expires_at <= start:
        problems.append("expiryTimestamp is not after startTimestamp")
    spec = MessageSpec(
        position=position,
        content=content,
        channel=channel or Channel.TEXT,
        priority=bool(priority),
        start_at=start,
        expires_at=expires_at,
        voice_on_failure=bool(voice_on_failure),
    )
    return spec, problems


_mobile_typed_kept = lru_cache(maxsize=65536)(_mobile_typed)
