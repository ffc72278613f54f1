"""Personalisation tags: [[firstName]], [[firstName,customer]], custom attributes."""

import re

TAG = re.compile(r"\[\[\s*([^\[\],]+?)\s*(?:,\s*([^\[\]]*?)\s*)?\]\]")

MEMBER_FIELDS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "mobile": "mobile",
    "country": "country",
    "state": "state",
}


def member_values(member) -> dict[str, str]:
    values = {tag: getattr(member, name) or "" for tag, name in MEMBER_FIELDS.items()}
    for name, value in (member.attributes or {}).items():
        values.setdefault(name, "" if value is None else str(value))
    return values


def render(template: str, values: dict[str, str]) -> str:
    def replace(match):
        value = values.get(match.group(1), "")
        return value if value else (match.group(2) or "")

    return TAG.sub(replace, template)


def recipient_text(recipient) -> str:
    """The text one recipient gets: its own stored text, else the message's with its tags resolved
    for the member (or, for a bare number, the mobile alone)."""
    if recipient.content:
        return recipient.content
    message = recipient.message
    if not message.personalised:
        return message.content
    values = member_values(recipient.member) if recipient.member else {"mobile": recipient.phone}
    return render(message.content, values)
