"""The smaller holes of a hostile probe: forged log lines, what /readyz tells a stranger, admin
searches past the integer columns, the pages' Content-Security-Policy, the Swagger UI's origin and
the default SECRET_KEY outside DEBUG."""

import json
import logging
import sys

import pytest

from smsgateway.logging import JsonFormatter, KeyValueFormatter, RequestContextFilter

FORGED = "hi\n2026-12-01 10:00:00,000 level=INFO logger=ops request_id=- admin logged in"


def _record(message, *args, exc_info=None):
    record = logging.LogRecord("messaging", logging.INFO, __file__, 1, message, args, exc_info)
    RequestContextFilter().filter(record)
    return record


@pytest.mark.parametrize("sender", [FORGED, "a\rb", "a\u2028b", "a\x85b", "a\x1b[31mb"])
def test_an_inbound_field_cannot_forge_a_key_value_log_line(sender):
    line = KeyValueFormatter().format(_record("inbound from %s", sender))
    assert len(line.splitlines()) == 1
    assert "\x1b" not in line


def test_a_key_value_line_shows_the_escaped_newline():
    line = KeyValueFormatter().format(_record("inbound text %s", "a\nb"))
    assert line.endswith("inbound text a\\nb")


def test_a_traceback_cannot_forge_a_key_value_line_either():
    try:
        raise ValueError(FORGED)
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info())
    lines = KeyValueFormatter().format(record).split("\n")
    assert len(lines) > 2
    assert all(line.startswith("\t") for line in lines[1:])


@pytest.mark.parametrize("sender", [FORGED, "a\u2028b", "a\x85b", "a\x7fb"])
def test_an_inbound_field_cannot_forge_a_json_log_line(sender):
    line = JsonFormatter().format(_record("inbound from %s", sender))
    assert len(line.splitlines()) == 1
    assert json.loads(line)["message"] == f"inbound from {sender}"
