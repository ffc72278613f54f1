import datetime

import pytest
import time_machine

from audiences.criteria import parse_criteria
from audiences.models import AudienceAttribute, Member, Segment, SegmentCondition
from audiences.segments import (
    SegmentError,
    criteria_matches,
    criteria_q,
    plan_text,
    segment_matches,
    segment_plan,
    segment_plan_build,
    segment_q,
)
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def declared(db):
    AudienceAttribute.objects.create(name="city", type="string")
    AudienceAttribute.objects.create(name="score", type="number")
    AudienceAttribute.objects.create(name="joined", type="date")
    AudienceAttribute.objects.create(name="tier", type="picklist", choices=["gold", "silver", "bronze"])


def make_segment(conditions, definition=""):
    segment = Segment.objects.create(name=f"s{Segment.objects.count()}", definition=definition)
    for number, (attribute, operator, value) in enumerate(conditions, start=1):
        SegmentCondition.objects.create(
            segment=segment, number=number, attribute=attribute, operator=operator, value=value
        )
    return segment


def names_by_sql(segment):
    return set(Member.objects.filter(segment_q(segment)).values_list("first_name", flat=True))


def names_by_python(segment):
    return {m.first_name for m in Member.objects.all() if segment_matches(segment, m)}


def matching(conditions, definition=""):
    segment = make_segment(conditions, definition)
    by_sql = names_by_sql(segment)
    assert by_sql == names_by_python(segment)
    return by_sql


def test_string_equal_matches_exactly(declared):
    MemberFactory(first_name="a", attributes={"city": "Nairobi"})
    MemberFactory(first_name="b", attributes={"city": "nairobi"})
    MemberFactory(first_name="c")
    assert matching([("city", "Equal", "Nairobi")]) == {"a"}


def test_string_not_equal_includes_members_without_the_attribute(declared):
    MemberFactory(first_name="a", attributes={"city": "Nairobi"})
    MemberFactory(first_name="b", attributes={"city": "Mombasa"})
    MemberFactory(first_name="c")
    assert matching([("city", "NotEqual", "Nairobi")]) == {"b", "c"}


def test_string_contains_is_a_substring_match(declared):
    MemberFactory(first_name="a", attributes={"city": "San Francisco"})
    MemberFactory(first_name="b", attributes={"city": "Fresno"})
    assert matching([("city", "Contains", "Fran")]) == {"a"}


def test_contains_treats_like_wildcards_as_text(declared):
    MemberFactory(first_name="a", attributes={"city": "100% Town"})
    MemberFactory(first_name="b", attributes={"city": "1000 Town"})
    assert matching([("city", "Contains", "0%")]) == {"a"}


def test_member_field_equal(declared):
    MemberFactory(first_name="a", state="CA")
    MemberFactory(first_name="b", state="NY")
    assert matching([("state", "Equal", "CA")]) == {"a"}


def test_nullable_member_field_not_equal_includes_nulls(declared):
    MemberFactory(first_name="a", email="x@example.com")
    MemberFactory(first_name="b", email=None)
    assert matching([("email", "NotEqual", "x@example.com")]) == {"b"}


def test_pick_list_equal_and_contains(declared):
    MemberFactory(first_name="a", attributes={"tier": "gold"})
    MemberFactory(first_name="b", attributes={"tier": "silver"})
    assert matching([("tier", "Equal", "gold")]) == {"a"}
    assert matching([("tier", "Contains", "il")]) == {"b"}


def test_pick_list_equal_refuses_a_value_outside_the_list(declared):
    with pytest.raises(SegmentError, match="not one of"):
        segment_plan_build(definition="1", conditions=[_c(1, "tier", "Equal", "platinum")])


def test_number_greater_and_less_than(declared):
    MemberFactory(first_name="a", attributes={"score": 5})
    MemberFactory(first_name="b", attributes={"score": 50.5})
    MemberFactory(first_name="c", attributes={"score": 500})
    MemberFactory(first_name="d")
    assert matching([("score", "GreaterThan", "10")]) == {"b", "c"}
    assert matching([("score", "LessThan", "50.5")]) == {"a"}


def test_number_equal_compares_numerically(declared):
    MemberFactory(first_name="a", attributes={"score": 7})
    MemberFactory(first_name="b", attributes={"score": 7.5})
    assert matching([("score", "Equal", "7.0")]) == {"a"}
    assert matching([("score", "NotEqual", "7")]) == {"b"}


def test_date_attribute_greater_and_less_than(declared):
    MemberFactory(first_name="a", attributes={"joined": "2023-12-31"})
    MemberFactory(first_name="b", attributes={"joined": "2024-01-01"})
    MemberFactory(first_name="c", attributes={"joined": "2024-06-01"})
    assert matching([("joined", "GreaterThan", "2024-01-01")]) == {"c"}
    assert matching([("joined", "LessThan", "2024-01-01")]) == {"a"}
    assert matching([("joined", "Equal", "2024-01-01")]) == {"b"}


@time_machine.travel(datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC), tick=False)
def test_date_attribute_relative_to_today(declared):
    MemberFactory(first_name="old", attributes={"joined": "2025-02-01"})
    MemberFactory(first_name="recent", attributes={"joined": "2025-03-05"})
    MemberFactory(first_name="future", attributes={"joined": "2025-03-20"})
    assert matching([("joined", "GreaterThanCurrentDateMinus", "7")]) == {"recent", "future"}
    assert matching([("joined", "LessThanCurrentDateMinus", "7")]) == {"old"}
    assert matching([("joined", "GreaterThanCurrentDatePlus", "5")]) == {"future"}
    assert matching([("joined", "LessThanCurrentDatePlus", "5")]) == {"old", "recent"}


@time_machine.travel(datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC), tick=False)
def test_datetime_member_field_compares_by_day(declared):
    MemberFactory(first_name="a", last_active_date=datetime.datetime(2025, 3, 1, 23, 59, tzinfo=datetime.UTC))
    MemberFactory(first_name="b", last_active_date=datetime.datetime(2025, 3, 2, 0, 0, tzinfo=datetime.UTC))
    MemberFactory(first_name="c", last_active_date=None)
    assert matching([("lastActiveDate", "Equal", "2025-03-01")]) == {"a"}
    assert matching([("lastActiveDate", "GreaterThan", "2025-03-01")]) == {"b"}
    assert matching([("lastActiveDate", "LessThan", "2025-03-02")]) == {"a"}
    assert matching([("lastActiveDate", "NotEqual", "2025-03-01")]) == {"b", "c"}
    assert matching([("lastActiveDate", "LessThanCurrentDateMinus", "8")]) == {"a"}


def test_boolean_member_field(declared):
    MemberFactory(first_name="a", email_subscription=True)
    MemberFactory(first_name="b", email_subscription=False)
    assert matching([("emailSubscription", "Equal", "false")]) == {"b"}


def test_definition_evaluates_strictly_left_to_right(declared):
    # 1 OR 2 AND 3 is (1 OR 2) AND 3, not 1 OR (2 AND 3).
    MemberFactory(first_name="only1", state="CA", country="X")
    MemberFactory(first_name="2and3", state="NY", country="Kenya")
    conditions = [("state", "Equal", "CA"), ("state", "Equal", "NY"), ("country", "Equal", "Kenya")]
    assert matching(conditions, "1 OR 2 AND 3") == {"2and3"}
    assert matching(conditions, "1 OR (2 AND 3)") == {"only1", "2and3"}


def test_empty_definition_ands_the_conditions(declared):
    MemberFactory(first_name="a", state="CA", country="Kenya")
    MemberFactory(first_name="b", state="CA", country="Chile")
    assert matching([("state", "Equal", "CA"), ("country", "Equal", "Kenya")]) == {"a"}


def test_all_users_matches_every_member(declared):
    MemberFactory(first_name="a")
    MemberFactory(first_name="b", active=False)
    all_users = Segment.objects.get(name=Segment.ALL_USERS)
    assert names_by_sql(all_users) == {"a", "b"}


def test_not_of_all_users_matches_nobody(declared):
    MemberFactory(first_name="a")
    all_users = Segment.objects.get(name=Segment.ALL_USERS)
    tree = parse_criteria(f"NOT ##{all_users.id}##")
    assert not Member.objects.filter(criteria_q(tree, {all_users.id: all_users})).exists()


def test_not_of_a_segment_is_its_complement_including_missing_values(declared):
    MemberFactory(first_name="a", attributes={"score": 10})
    MemberFactory(first_name="b", attributes={"score": 1})
    MemberFactory(first_name="c")
    segment = make_segment([("score", "GreaterThan", "5")])
    tree = parse_criteria(f"NOT ##{segment.id}##")
    by_sql = set(Member.objects.filter(criteria_q(tree, {segment.id: segment})).values_list("first_name", flat=True))
    plans = {segment.id: segment_plan(segment)}
    by_python = {m.first_name for m in Member.objects.all() if criteria_matches(tree, plans, m)}
    assert by_sql == by_python == {"b", "c"}


def test_criteria_combine_segments_left_to_right(declared):
    MemberFactory(first_name="ca", state="CA")
    MemberFactory(first_name="ny", state="NY")
    MemberFactory(first_name="tx", state="TX")
    ca = make_segment([("state", "Equal", "CA")])
    ny = make_segment([("state", "Equal", "NY")])
    tx = make_segment([("state", "Equal", "TX")])
    tree = parse_criteria(f"##{ca.id}## OR ##{ny.id}## AND NOT ##{tx.id}##")
    segments = {s.id: s for s in (ca, ny, tx)}
    assert set(Member.objects.filter(criteria_q(tree, segments)).values_list("first_name", flat=True)) == {"ca", "ny"}


def _c(number, attribute, operator, value):
    return {"number": number, "attribute": attribute, "operator": operator, "value": value}


def test_an_unknown_attribute_is_refused(declared):
    with pytest.raises(SegmentError, match="unknown attribute"):
        segment_plan_build(definition="1", conditions=[_c(1, "shoeSize", "Equal", "9")])


def test_an_operator_that_does_not_fit_the_type_is_refused(declared):
    with pytest.raises(SegmentError, match="does not apply"):
        segment_plan_build(definition="1", conditions=[_c(1, "city", "GreaterThan", "x")])


def test_a_definition_naming_a_missing_condition_is_refused(declared):
    with pytest.raises(SegmentError, match="no condition numbered 2"):
        segment_plan_build(definition="1 AND 2", conditions=[_c(1, "city", "Equal", "x")])


def test_an_unbalanced_definition_is_refused(declared):
    with pytest.raises(SegmentError, match="parenthesis"):
        segment_plan_build(definition="(1 AND 2", conditions=[_c(1, "city", "Equal", "x"), _c(2, "city", "Equal", "y")])


def test_the_evaluated_text_is_fully_bracketed(declared):
    plan = segment_plan_build(
        definition="1 OR 2 AND (3 OR 1)",
        conditions=[_c(1, "state", "Equal", "CA"), _c(2, "score", "GreaterThan", "3"), _c(3, "tier", "Equal", "gold")],
    )
    assert plan_text(plan).startswith("((1 OR 2) AND (3 OR 1)) = ")


def test_a_definition_may_negate_a_condition_as_the_volt_mx_samples_do(declared):
    MemberFactory(first_name="in", state="CA", country="Kenya")
    MemberFactory(first_name="out", state="CA", country="India")
    conditions = [("state", "Equal", "CA"), ("country", "Equal", "India")]
    assert matching(conditions, "1 AND (NOT 2)") == {"in"}
    assert plan_text(segment_plan(Segment.objects.last())).startswith("(1 AND NOT 2) = ")


def test_contains_reads_the_written_value_of_a_number_or_a_date(declared):
    MemberFactory(first_name="a", attributes={"score": 1950, "joined": "2024-05-01"})
    MemberFactory(first_name="b", attributes={"score": 7, "joined": "2023-05-01"})
    assert matching([("score", "Contains", "95")]) == {"a"}
    assert matching([("joined", "Contains", "2024")]) == {"a"}


def test_a_date_value_may_be_written_as_volt_mx_writes_it(declared):
    MemberFactory(first_name="a", attributes={"joined": "1999-12-30"})
    MemberFactory(first_name="b", attributes={"joined": "2000-01-02"})
    assert matching([("joined", "LessThan", "12/31/1999")]) == {"a"}


def test_a_segment_without_a_condition_holds_nobody_but_all_users_holds_everyone(declared):
    MemberFactory(first_name="a")
    with pytest.raises(SegmentError, match="no condition"):
        segment_plan(make_segment([]))
    assert segment_plan(Segment.objects.get(name=Segment.ALL_USERS)).tree is None
