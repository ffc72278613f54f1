"""A send request as the services take it: one `MessageSpec` per message, its listed recipients as
`RecipientRef`s. The API's normaliser builds them from a request's body; nothing here reads a body
or the database."""

from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers

from messaging.personalise import has_tags

# phonenumbers' PhoneNumberType values by name (MOBILE, PREMIUM_RATE, ...): a RecipientRef's `number_type`.
NUMBER_TYPE_NAMES = {value: name for name, value in vars(phonenumbers.PhoneNumberType).items() if name.isupper()}


@dataclass
class RecipientRef:
    member_id: int | None = None
    mobile: str | None = None
    number_type: str | None = None  # the mobile's phonenumbers type by name (PREMIUM_RATE, ...)


@dataclass
class MessageSpec:
    position: int
    content: str
    channel: str
    priority: bool
    start_at: datetime
    expires_at: datetime | None
    voice_on_failure: bool
    recipients: list[RecipientRef] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)

    @property
    def by_segment(self) -> bool:
        return bool(self.criteria)

    @property
    def personalised(self) -> bool:
        return has_tags(self.content)
