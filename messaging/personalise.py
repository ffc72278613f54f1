"""Personalisation tags (voltmx-family.md difference 7): the gateway's `[[firstName]]` and
`[[firstName,customer]]` (a fallback when the member has no value), and the Volt MX templates'
`##First Name##` (attribute display names: `##Last Name##`, `##Email##`, `##Mobile Number##`,
`##Country##`, `##State##`, a custom attribute by its name). A tag of digits only (`##12##`) is
segment criteria syntax, not a tag, and stays as written. A tag the member has no value for
becomes empty."""

import re

TAG = re.compile(r"\[\[\s*([^\[\],]+?)\s*(?:,\s*([^\[\]]*?)\s*)?\]\]")
# Names of letters, digits, spaces, dots, dashes and underscores, not digits alone.
HASH_TAG = re.compile(r"##(?!\s*\d+\s*##)([A-Za-z0-9_][\w .\-]{0,63}?)##")
ANY_TAG = re.compile(TAG.pattern + "|" + HASH_TAG.pattern)

MEMBER_FIELDS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "mobile": "mobile",
    "country": "country",
    "state": "state",
}
# Volt MX display names, compacted (no spaces, lower case), to the tag names above.
DISPLAY_NAMES = {
    "firstname": "firstName",
    "lastname": "lastName",
    "email": "email",
    "mobilenumber": "mobile",
    "mobile": "mobile",
    "country": "country",
    "state": "state",
}


def has_tags(content: str) -> bool:
    """Whether a message text holds a personalisation tag of either syntax."""
    return bool(ANY_TAG.search(content))


def member_values(member) -> dict[str, str]:
    values = {tag: getattr(member, name) or "" for tag, name in MEMBER_FIELDS.items()}
    for name, value in (member.attributes or {}).items():
        values.setdefault(name, "" if value is None else str(value))
    return values


def _compact(name: str) -> str:
    return re.sub(r"[\s_]+", "", name).lower()


def _display_value(name: str, values: dict[str, str]) -> str:
    if name in values:
        return values[name]
    compact = _compact(name)
    if compact in DISPLAY_NAMES:
        return values.get(DISPLAY_NAMES[compact], "")
    for key, value in values.items():
        if _compact(key) == compact:
            return value
    return ""


def render(template: str, values: dict[str, str]) -> str:
    def replace(match):
        value = values.get(match.group(1), "")
        return value if value else (match.group(2) or "")

    text = TAG.sub(replace, template)
    return HASH_TAG.sub(lambda match: _display_value(match.group(1).strip(), values), text)
