"""The SQL of a segment and its Python twin agree on generated populations and definitions."""

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiences.criteria import parse_criteria
from audiences.models import AudienceAttribute, Member, Segment, SegmentCondition
from audiences.segments import criteria_matches, criteria_q, segment_plan

pytestmark = [pytest.mark.slow, pytest.mark.django_db]  # slow: long hypothesis runs

CITIES = ["", "ab", "abc", "b", "Ab", "a%b"]
SCORES = [-1, 0, 1, 2.5, 10]
DAYS = ["2024-01-01", "2024-01-02", "2024-02-29", "2025-12-31"]
TIERS = ["gold", "silver", "bronze"]
STATES = ["CA", "NY", ""]
MOMENTS = [
    None,
    datetime.datetime(2024, 1, 1, 0, 0, tzinfo=datetime.UTC),
    datetime.datetime(2024, 1, 1, 23, 59, tzinfo=datetime.UTC),
    datetime.datetime(2024, 1, 2, 12, 0, tzinfo=datetime.UTC),
]

members = st.lists(
    st.fixed_dictionaries(
        {
            "state": st.sampled_from(STATES),
            "email_missing": st.booleans(),
            "active": st.booleans(),
            "last_active_date": st.sampled_from(MOMENTS),
            "attributes": st.fixed_dictionaries(
                {},
                optional={
                    "city": st.sampled_from(CITIES),
                    "score": st.sampled_from(SCORES),
                    "joined": st.sampled_from(DAYS),
                    "tier": st.sampled_from(TIERS),
                },
            ),
        }
    ),
    min_size=1,
    max_size=10,
)

conditions = st.one_of(
    st.tuples(st.just("city"), st.sampled_from(["Equal", "NotEqual", "Contains"]), st.sampled_from(CITIES)),
    st.tuples(st.just("state"), st.sampled_from(["Equal", "NotEqual", "Contains"]), st.sampled_from(STATES)),
    st.tuples(st.just("tier"), st.sampled_from(["Equal", "NotEqual"]), st.sampled_from(TIERS)),
    st.tuples(st.just("tier"), st.just("Contains"), st.sampled_from(["o", "il", "x"])),
    st.tuples(
        st.just("score"),
        st.sampled_from(["Equal", "NotEqual", "GreaterThan", "LessThan"]),
        st.sampled_from(["-1", "0", "2.5", "3"]),
    ),
    st.tuples(
        st.sampled_from(["joined", "lastActiveDate"]),
        st.sampled_from(["Equal", "NotEqual", "GreaterThan", "LessThan"]),
        st.sampled_from(DAYS),
    ),
    st.tuples(
        st.sampled_from(["joined", "lastActiveDate"]),
        st.sampled_from(
            [
                "GreaterThanCurrentDateMinus",
                "GreaterThanCurrentDatePlus",
                "LessThanCurrentDateMinus",
                "LessThanCurrentDatePlus",
            ]
        ),
        st.sampled_from(["0", "400", "700"]),
    ),
    st.tuples(st.just("email"), st.sampled_from(["Equal", "NotEqual"]), st.just("member0@example.com")),
    st.tuples(st.just("active"), st.sampled_from(["Equal", "NotEqual"]), st.sampled_from(["true", "false"])),
)


@st.composite
def definitions(draw, count):
    """A definition over conditions 1..count, written with and without parentheses."""

    def write(depth):
        if depth > 3 or draw(st.booleans()):
            return str(draw(st.integers(1, count)))
        left = write(depth + 1)
        right = write(depth + 1)
        operator = draw(st.sampled_from(["AND", "OR"]))
        if " " in right:
            right = f"({right})"
        if " " in left and draw(st.booleans()):
            left = f"({left})"
        return f"{left} {operator} {right}"

    return write(0)


@st.composite
def segment_specs(draw):
    chosen = draw(st.lists(conditions, min_size=1, max_size=4))
    return chosen, draw(definitions(len(chosen)))


@pytest.fixture
def declared(db):
    AudienceAttribute.objects.create(name="city", type="string")
    AudienceAttribute.objects.create(name="score", type="number")
    AudienceAttribute.objects.create(name="joined", type="date")
    AudienceAttribute.objects.create(name="tier", type="picklist", choices=TIERS)


def _store_segment(name, spec):
    chosen, definition = spec
    segment = Segment.objects.create(name=name, definition=definition)
    SegmentCondition.objects.bulk_create(
        SegmentCondition(segment=segment, number=n, attribute=a, operator=o, value=v)
        for n, (a, o, v) in enumerate(chosen, start=1)
    )
    return segment


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(population=members, first=segment_specs(), second=segment_specs(), shape=st.integers(0, 3))
def test_sql_and_python_agree(declared, population, first, second, shape):
    Member.objects.all().delete()
    Segment.objects.exclude(name=Segment.ALL_USERS).delete()
    Member.objects.bulk_create(
        Member(
            first_name=f"m{i}",
            last_name="x",
            email=None if m["email_missing"] else f"member{i}@example.com",
            mobile=f"+1415555{i:04d}",
            country="Kenya",
            state=m["state"],
            active=m["active"],
            last_active_date=m["last_active_date"],
            attributes=m["attributes"],
        )
        for i, m in enumerate(population)
    )
    one = _store_segment("one", first)
    two = _store_segment("two", second)
    criteria = [
        f"##{one.id}##",
        f"NOT ##{one.id}##",
        f"##{one.id}## OR NOT ##{two.id}##",
        f"NOT (##{one.id}## AND ##{two.id}##) OR ##{one.id}##",
    ][shape]
    tree = parse_criteria(criteria)
    segments = {one.id: one, two.id: two}
    by_sql = set(Member.objects.filter(criteria_q(tree, segments)).values_list("id", flat=True))
    plans = {sid: segment_plan(s) for sid, s in segments.items()}
    by_python = {m.id for m in Member.objects.all() if criteria_matches(tree, plans, m)}
    assert by_sql == by_python
