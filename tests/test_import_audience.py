import csv
import io

import pytest
from django.core.management import CommandError, call_command

from audiences.models import AudienceAttribute, Member
from audiences.services.importing import members_export_rows, members_import
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

HEADER = "firstName,lastName,email,mobileNumber,country,state,smsSubscription"


def write_csv(tmp_path, *lines, header=HEADER):
    path = tmp_path / "members.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return str(path)


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_audience", path, "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_adds_members_with_normalised_mobiles(tmp_path):
    out, _ = run(write_csv(tmp_path, "Ada,L,ADA@example.com,(415) 555-0100,United States,CA,"))
    member = Member.objects.get()
    assert (member.mobile, member.email, member.sms_subscription) == ("+14155550100", "ada@example.com", True)
    assert "1 members added" in out


def test_it_updates_a_member_found_by_mobile(tmp_path):
    MemberFactory(mobile="+14155550100", first_name="Old", email="old@example.com")
    run(write_csv(tmp_path, "New,L,new@example.com,+14155550100,United States,CA,"))
    member = Member.objects.get()
    assert (member.first_name, member.email) == ("New", "new@example.com")


def test_an_empty_subscription_cell_keeps_an_opt_out(tmp_path):
    MemberFactory(mobile="+14155550100", sms_subscription=False)
    run(write_csv(tmp_path, "Ada,L,a@example.com,+14155550100,United States,CA,"))
    assert Member.objects.get().sms_subscription is False


def test_a_row_without_mobile_updates_the_member_with_its_email(tmp_path):
    MemberFactory(mobile="+14155550100", email="a@example.com", first_name="Old")
    run(write_csv(tmp_path, "New,L,a@example.com,,United States,CA,false"))
    member = Member.objects.get()
    assert (member.first_name, member.mobile, member.sms_subscription) == ("New", "+14155550100", False)


def test_bad_rows_are_reported_by_line_and_the_rest_imported(tmp_path):
    path = write_csv(
        tmp_path,
        "Ada,L,a@example.com,+14155550100,United States,CA,",
        "Bob,L,b@example.com,12,United States,CA,",
        "Cy,L,c@example.com,+14155550102,United States,,",
    )
    out, err = run(path)
    assert "line 3: mobileNumber '12' is not a valid phone number" in err
    assert "line 4: state is required when the country is the USA" in err
    assert list(Member.objects.values_list("first_name", flat=True)) == ["Ada"]


def test_strict_imports_nothing_when_a_row_is_bad(tmp_path):
    path = write_csv(
        tmp_path,
        "Ada,L,a@example.com,+14155550100,United States,CA,",
        "Bob,L,not-an-email,+14155550101,United States,CA,",
    )
    with pytest.raises(CommandError, match="nothing imported"):
        run(path, "--strict")
    assert not Member.objects.exists()


def test_a_mobile_repeated_in_the_file_is_a_bad_row(tmp_path):
    path = write_csv(
        tmp_path,
        "Ada,L,a@example.com,+14155550100,United States,CA,",
        "Bob,L,b@example.com,+14155550100,United States,CA,",
    )
    _, err = run(path)
    assert "line 3: repeats the mobileNumber of line 2" in err
    assert Member.objects.get().first_name == "Ada"


def test_an_email_of_another_member_is_a_bad_row(tmp_path):
    other = MemberFactory(email="taken@example.com", mobile="+14155550199")
    MemberFactory(mobile="+14155550100", email="mine@example.com")
    _, err = run(write_csv(tmp_path, "Ada,L,taken@example.com,+14155550100,United States,CA,"))
    assert f"already belongs to member {other.id}" in err
    assert Member.objects.get(mobile="+14155550100").email == "mine@example.com"


def test_an_unknown_column_refuses_the_file(tmp_path):
    with pytest.raises(CommandError, match="unknown column 'shoeSize'"):
        run(write_csv(tmp_path, "Ada,L,a@example.com,,Kenya,,,9", header=HEADER + ",shoeSize"))


def test_custom_attributes_are_typed_and_merged(tmp_path):
    AudienceAttribute.objects.create(name="score", type="number")
    AudienceAttribute.objects.create(name="joined", type="date")
    MemberFactory(mobile="+14155550100", attributes={"joined": "2020-01-01", "score": 1})
    run(write_csv(tmp_path, "Ada,L,a@example.com,+14155550100,Kenya,,,42,", header=HEADER + ",score,joined"))
    assert Member.objects.get().attributes == {"score": 42, "joined": "2020-01-01"}


def test_a_bad_attribute_value_is_a_bad_row(tmp_path):
    AudienceAttribute.objects.create(name="score", type="number")
    _, err = run(write_csv(tmp_path, "Ada,L,a@example.com,+14155550100,Kenya,,,lots", header=HEADER + ",score"))
    assert "line 2: attribute score must be a number" in err


def test_rows_checked_in_parallel_give_the_same_result(tmp_path):
    lines = [f"M{i},L,m{i}@example.com,+1415555{i:04d},Kenya,," for i in range(30)] + ["Bad,L,x,,Kenya,,"]
    path = write_csv(tmp_path, *lines)
    with open(path, newline="") as stream:
        report = members_import(stream=stream, parallel=True)
    assert (report.created, report.bad_count, report.bad[0][0]) == (30, 1, 32)


def test_the_export_reads_back_in(tmp_path):
    AudienceAttribute.objects.create(name="tier", type="picklist", choices=["gold"])
    MemberFactory(mobile="+14155550100", email="a@example.com", attributes={"tier": "gold"}, voice_subscription=False)
    exported = "".join(members_export_rows())
    Member.objects.all().delete()
    report = members_import(stream=io.StringIO(exported))
    member = Member.objects.get()
    assert (report.created, member.attributes, member.voice_subscription) == (1, {"tier": "gold"}, False)


def test_tabs_newlines_and_backslashes_in_a_field_import_as_written(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(
        'firstName,lastName,email,country\n"A\\tb\tc","line one\nline two",a@example.com,Kenya\n', encoding="utf-8"
    )
    _, err = run(str(path))
    member = Member.objects.get()
    assert (member.first_name, member.last_name, err) == ("A\\tb\tc", "line one\nline two", "")


def test_a_quoted_row_over_two_lines_is_counted_from_its_first_line(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text('firstName,lastName,email,country\nAda,"L\nL",a@example.com,Kenya\nBob,L,bad,Kenya\n')
    _, err = run(str(path))
    assert "line 4: email 'bad' is not an email address" in err


@pytest.mark.parametrize("hostile", ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_the_export_escapes_a_cell_a_spreadsheet_would_run(hostile):
    MemberFactory(first_name=hostile, mobile="+14155550100")
    exported = list(csv.reader(io.StringIO("".join(members_export_rows()))))
    row = dict(zip(exported[0], exported[1], strict=True))
    assert (row["firstName"], row["mobileNumber"]) == ("'" + hostile, "'+14155550100")


@pytest.mark.parametrize("name", ["=1+2", "'=1+2", "''-x", "'plain", "-", "O'Brien"])
def test_an_escaped_export_reads_back_as_it_was(name):
    MemberFactory(first_name=name, mobile="+14155550100", email="a@example.com")
    exported = "".join(members_export_rows())
    Member.objects.all().delete()
    members_import(stream=io.StringIO(exported))
    assert Member.objects.values_list("first_name", "mobile").get() == (name, "+14155550100")
