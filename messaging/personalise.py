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


def rendered_sql(template: str):
    """`render(template, member_values(member))` as a database expression over Member rows, so
    that a segment's rendered texts can be measured without loading its members: the literal
    text between tags as it is, each tag as its member field or custom attribute, or its default
    when that is empty."""
    from django.db.models import CharField, TextField, Value
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Cast, Coalesce, Concat, NullIf

    pieces = []
    position = 0
    for match in TAG.finditer(template):
        if match.start() > position:
            pieces.append(Value(template[position : match.start()], output_field=TextField()))
        name, default = match.group(1), match.group(2) or ""
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
