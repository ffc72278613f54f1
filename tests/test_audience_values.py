import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from audiences import values
from audiences.models import AudienceAttribute


def phonenumbers_answer(text):
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def our_answer(text):
    try:
        return values.mobile_clean(text)
    except ValueError:
        return None


def test_the_e164_shortcut_agrees_with_phonenumbers_across_regions():
    picker = random.Random(7)
    samples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                written = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                samples += [written, written[:-2] + f"{picker.randint(0, 99):02d}", written + "1"]
    assert [our_answer(text) for text in samples] == [phonenumbers_answer(text) for text in samples]


@pytest.mark.parametrize(
    "text", ["+11415555010", "+4407911123456", "+78001234567", "+80012345678", "+39 06 1234 5678", "+0123"]
)
def test_numbers_that_parse_reads_differently_take_the_full_path(text):
    assert our_answer(text) == phonenumbers_answer(text)


def test_a_national_number_takes_the_countrys_region():
    assert values.mobile_clean("0712 345678", region="KE") == "+254712345678"


def test_a_number_type_attribute_keeps_whole_numbers_whole():
    score = AudienceAttribute(name="score", type="number")
    assert values.attribute_value_clean(score, "42.0") == 42
    assert values.attribute_value_clean(score, "2.5") == 2.5


@pytest.mark.parametrize("text", ["nan", "inf", "1e400", "true"])
def test_a_number_type_attribute_refuses_what_is_not_a_finite_number(text):
    with pytest.raises(ValueError, match="score"):
        values.attribute_value_clean(AudienceAttribute(name="score", type="number"), text)


def test_a_pick_list_attribute_takes_only_its_values():
    tier = AudienceAttribute(name="tier", type="picklist", choices=["gold", "silver"])
    with pytest.raises(ValueError, match="must be one of gold, silver"):
        values.attribute_value_clean(tier, "platinum")


def test_a_date_attribute_is_stored_as_iso_day():
    joined = AudienceAttribute(name="joined", type="date")
    assert values.attribute_value_clean(joined, "2024-05-01T10:00:00Z") == "2024-05-01"
