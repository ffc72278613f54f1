"""The SMPP backend's options (SMS_BACKEND_OPTIONS, or a provider's properties through
services.providers.configuration.provider_options), coerced once to their types when the
backend is built."""

from dataclasses import dataclass, field, fields


def _int_or_none(value) -> int | None:
    return None if value in (None, "") else int(value)


def _at_least_one(value) -> int:
    return max(1, int(value))


def _int_or_zero(value) -> int:
    return int(value or 0)


def _float_or_zero(value) -> float:
    return float(value or 0)


# How each option that is not a plain string is read; the one place options are coerced.
_COERCE = {
    "port": int,
    "binds": _at_least_one,
    "window": _at_least_one,
    "source_ton": _int_or_none,
    "source_npi": _int_or_none,
    "throughput": _float_or_zero,
    "enquire_link_seconds": float,
    "response_timeout": float,
    "connect_timeout": float,
    "reconnect_wait": float,
    "reconnect_max_seconds": float,
    "submit_id_base": _int_or_zero,
    "receipt_id_base": _int_or_zero,
    "receipt_hold_seconds": float,
}


@dataclass(frozen=True)
class SmppOptions:
    """What an SMPP link is told: where the SMSC is and how to bind, how many binds and how many
    submits outstanding on each (`window`), the addresses' defaults, the timings, the id bases,
    and the receipt hold."""

    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    binds: int = 1
    window: int = 50
    source_ton: int | None = None  # None: by the sender's form (address_ton_npi)
    source_npi: int | None = None
    sender: str = ""  # the source address when the message names none
    # Parts per second this process spreads its submits at; the limit shared by all processes
    # is messaging.throttle, which the dispatch takes for each batch. 0 is unlimited.
    throughput: float = 0.0
    name: str = "smpp"
    enquire_link_seconds: float = 30.0  # quiet this long, a bind asks whether the SMSC is there
    response_timeout: float = 10.0  # an answer later than this and the bind is lost
    connect_timeout: float = 5.0
    reconnect_wait: float = 10.0  # how long a send waits for a bind before it gives up
    reconnect_max_seconds: float = 30.0  # the longest backoff between two binds
    # 10 or 16 when the SMSC writes its submit_sm_resp ids and its receipts' ids in known bases.
    submit_id_base: int = 0
    receipt_id_base: int = 0
    receipt_hold_seconds: float = 1.0  # see delivery.delivery_due
    # How often the readers look up from the socket: a quarter of the shorter timing.
    tick: float = field(init=False)

    def __post_init__(self):
        for name, coerce in _COERCE.items():
            object.__setattr__(self, name, coerce(getattr(self, name)))
        tick = max(0.02, min(1.0, self.enquire_link_seconds / 4, self.response_timeout / 4))
        object.__setattr__(self, "tick", tick)

    @classmethod
    def split(cls, options: dict) -> tuple["SmppOptions", dict]:
        """The SMPP options among `options`, and the rest (the sinks, anything else)."""
        names = {option.name for option in fields(cls) if option.init}
        ours = {name: value for name, value in options.items() if name in names}
        rest = {name: value for name, value in options.items() if name not in names}
        return cls(**ours), rest
