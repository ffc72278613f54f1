"""Booleans from text: one rule (audiences/booleans.py), strict or lenient, and every reader on it."""

import pytest

from audiences import values
from audiences.booleans import boolean_from_text
from messaging.api.normaliser import _Invalid, parse_bool
from messaging.providers.descriptor import Flag, truthy

# (given, strict, lenient)
CASES = [
    (True, True, True),
    (False, False, False),
    ("true", True, True),
    (" TRUE ", True, True),
    ("False", False, False),
    ("1", None, True),
    ("0", None, False),
    (1, None, True),
    (0, None, False),
    ("yes", None, True),
    ("No", None, False),
    ("y", None, True),
    ("n", None, False),
    ("on", None, True),
    ("OFF", None, False),
    ("t", None, None),
    ("2", None, None),
    ("", None, None),
    ("  ", None, None),
    (None, None, None),
    ({"a": 1}, None, None),
]


@pytest.mark.parametrize(("given", "strict", "lenient"), CASES)
def test_a_boolean_reads_as_the_one_rule_says(given, strict, lenient):
    assert boolean_from_text(given) is strict
    assert boolean_from_text(given, lenient=True) is lenient


@pytest.mark.parametrize(("given", "strict", "lenient"), [case for case in CASES if case[0] not in (None, "")])
def test_the_send_api_reads_its_flags_strictly(given, strict, lenient):
    if strict is None:
        with pytest.raises(_Invalid):
            parse_bool(given, "priorityService")
    else:
        assert parse_bool(given, "priorityService") is strict


@pytest.mark.parametrize(("given", "strict", "lenient"), [case for case in CASES if case[0] not in (None, "")])
def test_a_members_flags_are_read_leniently(given, strict, lenient):
    if lenient is None:
        with pytest.raises(ValueError, match="active must be true or false"):
            values.boolean_clean(given, "active", default=True)
    else:
        assert values.boolean_clean(given, "active", default=True) is lenient


@pytest.mark.parametrize(("given", "strict", "lenient"), [case for case in CASES if isinstance(case[0], str)])
def test_a_provider_flag_is_saved_strictly_and_read_leniently(given, strict, lenient):
    assert Flag().valid(given) is (strict is not None)
    assert truthy(given) is (lenient is True)
