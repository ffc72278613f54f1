"""Log lines that carry the request id and never a whole phone number.

`RequestContextFilter` puts the current request id (set by `ops.middleware.RequestIdMiddleware`,
or the Celery task id in a worker) on every record and masks phone numbers in the message;
`KeyValueFormatter` and `JsonFormatter` write one structured line per record (LOG_FORMAT).

A record's fields often carry what a client or a provider sent (a sender, a text, a header), so
neither format lets them break a line: control characters (and the Unicode line separators) in
the message are written as escapes (`\n`, `\x1b`, `\u2028`), and in the key-value format the lines
of a traceback after the first are indented with a tab, so that a line that starts at the margin
is always a record of its own.
"""

import contextvars
import json
import logging
import re

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# E.164 with its plus (7 to 15 digits), or a bare run of 10 to 15 digits (a number given
# without its plus). Request ids are 18-19 digits and stay readable.
PHONE = re.compile(r"(?<![\w.])(\+\d{7,15}|\d{10,15})(?![\w.])")


def mask_phones(text: str) -> str:
    def _mask(match: re.Match) -> str:
        number = match.group(0)
        keep = 2
        head = "+" if number.startswith("+") else ""
        digits = number[len(head) :]
        return head + "*" * (len(digits) - keep) + digits[-keep:]

    return PHONE.sub(_mask, text)


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it for the handler to report
            return True
        masked = mask_phones(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


# C0 controls, DEL, C1 controls and the Unicode line and paragraph separators.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """The text on one line: each control character as a backslash escape."""

    def _escape(match: re.Match) -> str:
        char = match.group(0)
        if char in _NAMED:
            return _NAMED[char]
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"

    return CONTROL.sub(_escape, text)


def _indent_continuation(text: str) -> str:
    """Exception and stack text, its lines after the first indented with a tab; control characters
    other than the line breaks escaped."""
    lines = [escape_controls(line) for line in text.split("\n")]
    return "\n\t".join(lines)


LINE = "%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s %(message)s"


class KeyValueFormatter(logging.Formatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "fmt", "%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s %(message)s"
        )
        super().__init__(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        record.message = escape_controls(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for extra in (record.exc_text, record.stack_info and self.formatStack(record.stack_info)):
            if extra:
                line += "\n\t" + _indent_continuation(extra)
        return mask_phones(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # json.dumps escapes C0 controls; DEL, C1 controls and U+2028/U+2029 are escaped here too.
        text = json.dumps(line, ensure_ascii=False)
        return mask_phones(CONTROL.sub(lambda match: f"\\u{ord(match.group(0)):04x}", text))
