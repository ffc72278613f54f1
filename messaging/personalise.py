"""Personalisation tags (voltmx-family.md difference 7): the gateway's `[[firstName]]` and
`[[firstName,customer]]` (a fallback when the member has no value), and the Volt MX templates'
`##First Name##` (attribute display names: `##Last Name##`, `##Email##`, `##Mobile Number##`,
`##Country##`, `##State##`, a custom attribute by its name). A tag of digits only (`##12##`) is
segment criteria syntax, not a tag, and stays as written. A tag the member has no value for
becomes empty."""

import re

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import CharField, Expression, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Concat, NullIf

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


def rendered_sql(template: str):
    """`render(template, member_values(member))` as a database expression over Member rows, so
    that a segment's rendered texts can be measured without loading its members: the literal
    text between tags as it is, each tag as its member field or custom attribute, or its default
    when that is empty."""
    pieces: list[Expression] = []
    position = 0
    for match in ANY_TAG.finditer(template):
        if match.start() > position:
            pieces.append(Value(template[position : match.start()], output_field=TextField()))
        if match.group(1) is not None:
            name, default = match.group(1), match.group(2) or ""
        else:  # a Volt MX ##Display Name##: a member field by its display name, else an attribute
            display = match.group(3).strip()
            name, default = DISPLAY_NAMES.get(_compact(display), display), ""
        if name in MEMBER_FIELDS:
            value = Cast(MEMBER_FIELDS[name], output_field=TextField())
        else:
            value = Cast(KeyTextTransform(name, "attributes"), output_field=TextField())
        pieces.append(
            Coalesce(NullIf(value, Value("", output_field=TextField())), Value(default, output_field=TextField()))
        )
        position = match.end()
    if position < len(template):
        pieces.append(Value(template[position:], output_field=TextField()))
    if not pieces:
        return Value("", output_field=CharField())
    if len(pieces) == 1:
        return Coalesce(pieces[0], Value("", output_field=TextField()))
    return Concat(*pieces, output_field=TextField())


def member_of(recipient):
    """The recipient's member, or None: none linked, or the id names a member deleted since (the
    link has no database constraint; select_related reads such an id as None too)."""
    try:
        return recipient.member
    except ObjectDoesNotExist:
        return None


def member_text(template: str, *, member, phone: str) -> str:
    """A personalised message's text for one recipient: its tags resolved for the member, or, for
    a bare number (no member), the mobile alone. Where the text is made (a listed recipient at
    request time, a segment's at send time), it is made here."""
    return render(template, member_values(member) if member else {"mobile": phone})


def recipient_text(recipient) -> str:
    """The text one recipient gets, as sent: its own stored text, else the message's, personalised
    by member_text when the message has tags. The one answer to "what does this recipient get"."""
    if recipient.content:
        return recipient.content
    message = recipient.message
    if not message.personalised:
        return message.content
    return member_text(message.content, member=member_of(recipient), phone=recipient.phone)
