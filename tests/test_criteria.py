import pytest

from audiences.criteria import CriteriaError, criteria_text, parse_criteria
from audiences.definitions import DefinitionError, definition_parse, definition_text
from audiences.models import Segment
from tests.helpers import one_message, post_json


def test_criteria_are_read_strictly_left_to_right():
    assert criteria_text(parse_criteria("##1## OR ##2## AND ##3##")) == "((##1## OR ##2##) AND ##3##)"


def test_brackets_come_first_in_criteria():
    assert criteria_text(parse_criteria("##1## OR (##2## AND ##3##)")) == "(##1## OR (##2## AND ##3##))"


def test_not_binds_to_the_term_that_follows():
    assert criteria_text(parse_criteria("NOT ##1## AND ##2##")) == "(NOT ##1## AND ##2##)"


@pytest.mark.parametrize("text", ["", "##1## AND", "(##1##", "##a##", "##1## ##2##", "AND ##1##"])
def test_malformed_criteria_are_refused(text):
    with pytest.raises(CriteriaError):
        parse_criteria(text)


def test_definitions_are_read_strictly_left_to_right():
    assert definition_text(definition_parse("1 OR 2 AND 3")) == "((1 OR 2) AND 3)"
    assert definition_text(definition_parse("1 or (2 and 3)")) == "(1 OR (2 AND 3))"


def test_definitions_take_not_as_the_volt_mx_samples_write_it():
    tree = definition_parse("1  OR 2 OR 3 AND 4 OR (NOT 5) AND 6 AND 7")
    assert definition_text(tree) == "((((((1 OR 2) OR 3) AND 4) OR NOT 5) AND 6) AND 7)"


@pytest.mark.parametrize("text", ["", "1 AND", "(1 OR 2", "1 2", "1 OR 2)", "1 NOT 2", "NOT", "1 AND x"])
def test_malformed_definitions_are_refused(text):
    with pytest.raises(DefinitionError):
        definition_parse(text)


def _send(client, criteria):
    return post_json(
        client,
        one_message(content="Hi", priorityService="false", recipients={"segment": {"criteria": criteria}}),
    )


@pytest.mark.django_db
def test_a_request_naming_a_missing_segment_is_the_contract_400(client):
    response = _send(client, "##987654##")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Invalid request format, Error messages :[invalid segment criteria @ message :1]"
    )


@pytest.mark.django_db
def test_a_request_with_malformed_criteria_is_the_contract_400(client):
    segment = Segment.objects.get(name=Segment.ALL_USERS)
    response = _send(client, f"##{segment.id}## AND")
    assert response.status_code == 400
    assert "invalid segment criteria @ message :1" in response.json()["message"]


@pytest.mark.django_db
def test_a_request_with_not_over_a_known_segment_is_accepted(client):
    segment = Segment.objects.get(name=Segment.ALL_USERS)
    assert _send(client, f"NOT ##{segment.id}##").status_code == 200
