"""Log lines that carry the request id and never a whole phone number.

`RequestContextFilter` puts the current request id (set by `ops.middleware.RequestIdMiddleware`,
or the Celery task id in a worker) on every record and masks phone numbers in the message;
`KeyValueFormatter` and `JsonFormatter` write one structured line per record (LOG_FORMAT).
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
        return mask_phones(super().format(record))


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
        return mask_phones(json.dumps(line, ensure_ascii=False))
