"""Encoding and part counts (GSM 03.38 or UCS-2), and personalisation tags."""

import pytest

from messaging.personalise import render
from messaging.text import is_gsm7, text_layout


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("", "gsm7", 1),
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),
        ("€" * 81, "gsm7", 2),
        ("[" + "a" * 159, "gsm7", 2),
        ("Ünïcode? no: ï is not GSM", "ucs2", 1),
        ("é" * 70, "gsm7", 1),
        ("ç" * 70, "ucs2", 1),
        ("ç" * 71, "ucs2", 2),
        ("ç" * 134, "ucs2", 2),
        ("ç" * 135, "ucs2", 3),
        ("😀" * 35, "ucs2", 1),
        ("😀" * 36, "ucs2", 2),
    ],
)
def test_the_encoding_and_part_count_follow_gsm_03_38(text, encoding, parts):
    layout = text_layout(text)
    assert (layout.encoding, layout.parts) == (encoding, parts)


def test_extended_characters_cost_two_septets():
    assert text_layout("^{}\\[~]|€").units == 18


def test_one_character_outside_the_alphabet_makes_the_whole_text_ucs2():
    assert is_gsm7("Hello @ £5")
    assert not is_gsm7("Hello @ £5 ✓")


def test_a_tag_is_replaced_by_the_members_value():
    assert render("Hi [[firstName]] [[lastName]]", {"firstName": "Ada", "lastName": "Lovelace"}) == "Hi Ada Lovelace"


def test_a_missing_value_takes_the_fallback():
    assert render("Hi [[firstName,customer]]!", {"firstName": ""}) == "Hi customer!"


def test_a_missing_value_without_fallback_is_empty():
    assert render("Hi [[nickname]]!", {}) == "Hi !"


def test_a_custom_attribute_is_a_tag_like_any_other():
    assert render("Plan: [[ plan , basic ]]", {"plan": "gold"}) == "Plan: gold"


def test_text_without_tags_is_unchanged():
    assert render("50% off [today] only", {"firstName": "Ada"}) == "50% off [today] only"
