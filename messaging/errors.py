"""The gateway's one domain error and the exact texts of CONTRACT section 3.

A service refuses by raising `ContractError`: the text the partner sees as it is, the kind of
refusal (`Refusal`, valued as the status the contract gives it), the problems gathered into an
INVALID_FORMAT text, and, for a refusal that passes, the seconds after which to try again. It is
plain data: the API edge (`messaging/api/errors.py`) maps it to an HTTP response once, and
nothing here knows HTTP, so a worker that runs the services never loads the API package.
"""

from enum import IntEnum

PARSE_FAILED = "Failed to parse the input request"
BOTH_GIVEN = "Either recipient list or segment criteria is allowed, not both @ message :{n}"
INVALID_FORMAT = "Invalid request format, Error messages :[{problems}]"
NO_ACTIVE_MEMBERS = "No active audience members found"
UNAUTHORIZED = "Unauthorized request"
SERVER_FAILURE = "Server failure to process request"
IDEMPOTENCY_CONFLICT = "Idempotency-Key reused with a different request"
REQUEST_QUEUED = "Request Queued. "
RETRY_AFTER_SECONDS = "5"
TOO_COMPLEX = "request too complex for the database"


class Refusal(IntEnum):
    """The kinds of refusal, each valued as the status the contract gives it."""

    INVALID = 400
    FORBIDDEN = 403
    CONFLICT = 409
    TOO_LARGE = 413
    OVER_LIMIT = 429


class Problem:
    """One problem of one message, gathered into the INVALID_FORMAT text."""

    __slots__ = ("text", "position")

    def __init__(self, text, position=None):
        self.text = text
        self.position = position

    def __str__(self):
        return self.text if self.position is None else f"{self.text} @ message :{self.position}"


class ContractError(Exception):
    """A refusal whose text the partner sees as it is.

    `status_code` is its kind (a `Refusal`, or the number of one), `problems` the problems its
    text gathers, `retry_after` the seconds after which the same request may pass (None: it
    never will as it is)."""

    def __init__(self, message, *, status_code=Refusal.INVALID, problems=(), retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = Refusal(status_code)
        self.problems = tuple(problems)
        self.retry_after = retry_after


def invalid_format(problems) -> ContractError:
    problems = list(problems)
    return ContractError(INVALID_FORMAT.format(problems=", ".join(str(p) for p in problems)), problems=problems)
