"""What a provider kind declares: `ProviderDescriptor`, its `Property`s and their value rules.

A descriptor is plain data (and two small functions): it imports no model, view or backend, so
the model, the services, the URLs and ops can all read it without importing one another.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from audiences.booleans import boolean_from_text


def truthy(text) -> bool:
    """A stored flag as the backends read it: lenient, since the admin stores any text; what
    spells no boolean is false."""
    return boolean_from_text(text, lenient=True) is True


@dataclass(frozen=True)
class Text:
    """Any text, handed to the backend as it is."""

    def valid(self, text: str) -> bool:
        return True

    def option(self, text: str):
        return text


@dataclass(frozen=True)
class Whole(Text):
    """A whole number from `low` to `high` in ASCII digits; with `spellings`, only those texts."""

    low: int
    high: int
    spellings: tuple[str, ...] = ()

    def valid(self, text: str) -> bool:
        if not (text.isascii() and text.isdigit()) or not self.low <= int(text) <= self.high:
            return False
        return not self.spellings or text in self.spellings

    def option(self, text: str):
        return int(text)


@dataclass(frozen=True)
class Number(Text):
    """A number from `low` to `high`, fractions allowed."""

    low: float
    high: float

    def valid(self, text: str) -> bool:
        try:
            return self.low <= float(text) <= self.high
        except ValueError:
            return False

    def option(self, text: str):
        return float(text)


@dataclass(frozen=True)
class Flag(Text):
    """`true` or `false` when saved through the API; read leniently (`truthy`) once stored."""

    def valid(self, text: str) -> bool:
        return boolean_from_text(text) is not None

    def option(self, text: str):
        return truthy(text)


TEXT = Text()


@dataclass(frozen=True)
class Property:
    """One key of a provider's properties (CONTRACT section 8): the name the API and the console
    use, the backend option it becomes, and what a value must be."""

    key: str
    option: str
    value: Text = TEXT
    required: bool = False
    # Never shown again once saved (the API and the console show the mask).
    secret: bool = False
    # Says where the traffic, and with it the secrets, goes: changing it needs the secrets again.
    endpoint: bool = False


# The properties every kind takes. Which of their options a backend is given is its
# descriptor's `common_options`; the others are read by the route (`routing._route_of`).
COMMON_PROPERTIES = (
    Property("Throughput", "throughput", Number(0, 1_000_000)),
    Property("Maximum Character Limit", "max_chars", Whole(1, 100_000)),
    Property("From", "sender"),
    Property("Voice", "voice", Flag()),
)


@dataclass(frozen=True)
class CallbackRoute:
    """A URL the provider calls back (a status webhook, a member's text), with its view by dotted
    path so that reading a descriptor never loads the views."""

    path: str
    view: str
    name: str


def configured(properties: dict, *, timeout: float) -> str:
    """The readiness of a kind that cannot be checked without cost: dialling an HTTP API would
    spend a request or need its credentials, so it is reported as configured."""
    return "configured"


def http_link(properties: dict) -> str:
    return "HTTP"


@dataclass(frozen=True)
class ProviderDescriptor:
    """Everything the gateway knows about one kind of provider, in one place."""

    # As stored in Provider.kind and named by the configuration API, and the console's label.
    kind: str
    label: str
    # The backend class by dotted path (messaging/backends/).
    backend: str
    properties: tuple[Property, ...] = ()
    # Other names the configuration API accepts for the kind (upper case).
    aliases: tuple[str, ...] = ()
    # Which options of COMMON_PROPERTIES the backend is given.
    common_options: frozenset[str] = frozenset({"sender"})
    # Whether its backend can place a voice call.
    voice: bool = False
    # What /readyz reports of an enabled provider of this kind; raises when it is not ready.
    readiness_check: Callable[..., str] = configured
    # How the console names the provider's link, from its properties.
    link_label: Callable[[dict], str] = http_link
    # Whether worker processes report its long-lived links (SMPP binds) for the console.
    reports_links: bool = False
    callbacks: tuple[CallbackRoute, ...] = ()
    # The name of the callback route whose URL the backend gives the provider for its receipts.
    status_callback: str = ""
    keys: dict[str, Property] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "keys", {prop.key: prop for prop in COMMON_PROPERTIES + self.properties})

    @property
    def required_keys(self) -> frozenset[str]:
        return frozenset(prop.key for prop in self.keys.values() if prop.required)

    @property
    def secret_keys(self) -> frozenset[str]:
        return frozenset(prop.key for prop in self.keys.values() if prop.secret)

    @property
    def endpoint_keys(self) -> frozenset[str]:
        return frozenset(prop.key for prop in self.keys.values() if prop.endpoint)

    def status_callback_path(self) -> str:
        """The path of the status callback route, or "" for a kind that has none."""
        return next((route.path for route in self.callbacks if route.name == self.status_callback), "")
