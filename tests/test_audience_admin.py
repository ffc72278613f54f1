import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile

from audiences.models import AudienceAttribute, Member, Segment, SegmentCondition
from tests.factories import MemberFactory, SegmentFactory, SmsMessageFactory

pytestmark = pytest.mark.django_db


def test_members_are_searched_by_mobile(admin_client):
    MemberFactory(first_name="Ada", mobile="+14155550100")
    MemberFactory(first_name="Bob", mobile="+14155550101")
    page = admin_client.get("/admin/audiences/member/", {"q": "+14155550101"}).content.decode()
    assert "Bob" in page and "Ada" not in page


def test_members_are_filtered_by_subscription(admin_client):
    MemberFactory(first_name="Ada", sms_subscription=False)
    MemberFactory(first_name="Bob")
    page = admin_client.get("/admin/audiences/member/", {"sms_subscription__exact": "0"}).content.decode()
    assert "Ada" in page and "Bob" not in page


def test_the_admin_imports_a_csv(admin_client):
    upload = SimpleUploadedFile(
        "m.csv", b"firstName,lastName,email,mobileNumber,country,state\nAda,L,a@example.com,+14155550100,Kenya,\n"
    )
    response = admin_client.post("/admin/audiences/member/import/", {"file": upload}, follow=True)
    assert "1 members added" in response.content.decode()
    assert Member.objects.get().mobile == "+14155550100"


def test_the_admin_import_reports_bad_rows(admin_client):
    upload = SimpleUploadedFile("m.csv", b"firstName,lastName,email,country\nAda,L,nope,Kenya\n")
    response = admin_client.post("/admin/audiences/member/import/", {"file": upload, "strict": "on"}, follow=True)
    assert "line 2: email" in response.content.decode()
    assert not Member.objects.exists()


def test_the_admin_exports_members_as_csv(admin_client):
    MemberFactory(first_name="Ada", mobile="+14155550100")
    response = admin_client.get("/admin/audiences/member/export/")
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("firstName,lastName,email,country,mobileNumber")
    assert "Ada" in text and "+14155550100" in text


def test_the_member_form_normalises_the_mobile(admin_client):
    response = admin_client.post(
        "/admin/audiences/member/add/",
        {
            "first_name": "Ada",
            "last_name": "L",
            "email": "a@example.com",
            "mobile": "415 555 0100",
            "country": "USA",
            "state": "CA",
            "active": "on",
            "sms_subscription": "on",
            "attributes": "{}",
        },
    )
    assert response.status_code == 302
    assert Member.objects.get().mobile == "+14155550100"


def test_the_attribute_form_caps_the_number_of_attributes(admin_client):
    AudienceAttribute.objects.bulk_create(AudienceAttribute(name=f"a{i}") for i in range(30))
    response = admin_client.post("/admin/audiences/audienceattribute/add/", {"name": "extra", "type": "string"})
    assert "at most 30 custom attributes" in response.content.decode()


def _segment_form(definition, *conditions):
    data = {
        "name": "Californians",
        "condition_type": "advanced",
        "definition": definition,
        "conditions-TOTAL_FORMS": str(len(conditions)),
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "1000",
    }
    for index, (number, attribute, operator, value) in enumerate(conditions):
        data.update(
            {
                f"conditions-{index}-number": str(number),
                f"conditions-{index}-attribute": attribute,
                f"conditions-{index}-operator": operator,
                f"conditions-{index}-value": value,
            }
        )
    return data


def test_a_segment_is_saved_with_its_conditions_inline(admin_client):
    response = admin_client.post(
        "/admin/audiences/segment/add/",
        _segment_form("1 OR 2", (1, "state", "Equal", "CA"), (2, "state", "Equal", "NY")),
    )
    assert response.status_code == 302
    assert Segment.objects.get(name="Californians").conditions.count() == 2


def test_a_segment_naming_a_missing_condition_is_refused(admin_client):
    response = admin_client.post("/admin/audiences/segment/add/", _segment_form("1 AND 2", (1, "state", "Equal", "CA")))
    assert "no condition numbered 2" in response.content.decode()
    assert not Segment.objects.filter(name="Californians").exists()


def test_validate_shows_the_definition_bracketed_and_the_count(admin_client):
    MemberFactory(state="CA")
    MemberFactory(state="NY", sms_subscription=False)
    response = admin_client.post(
        "/admin/audiences/segment/validate/",
        _segment_form("1 OR 2 AND 1", (1, "state", "Equal", "CA"), (2, "state", "Equal", "NY")),
    )
    page = response.content.decode()
    assert "((1 OR 2) AND 1)" in page
    assert '<strong id="everyone">1</strong>' in page


def test_the_change_page_shows_the_live_count(admin_client):
    MemberFactory(state="CA")
    MemberFactory(state="CA", active=False)
    segment = Segment.objects.create(name="ca", definition="1")
    SegmentCondition.objects.create(segment=segment, number=1, attribute="state", operator="Equal", value="CA")
    page = admin_client.get(f"/admin/audiences/segment/{segment.id}/change/").content.decode()
    assert "2 members, of whom 1 active and SMS-subscribed" in page


def test_an_attribute_a_segment_uses_cannot_be_deleted(admin_client):
    attribute = AudienceAttribute.objects.create(name="score", type="number")
    segment = Segment.objects.create(name="high", definition="1")
    SegmentCondition.objects.create(segment=segment, number=1, attribute="score", operator="GreaterThan", value="5")
    response = admin_client.post(f"/admin/audiences/audienceattribute/{attribute.id}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AudienceAttribute.objects.filter(pk=attribute.pk).exists()


def test_a_segment_a_waiting_message_uses_is_not_deleted_from_its_page(admin_client):
    segment = SegmentFactory()
    message = SmsMessageFactory(criteria=[f"##{segment.id}##"], expansion_done=False)
    response = admin_client.post(f"/admin/audiences/segment/{segment.id}/delete/", {"post": "yes"}, follow=True)
    assert Segment.objects.filter(pk=segment.pk).exists()
    assert response.redirect_chain[-1][0] == f"/admin/audiences/segment/{segment.id}/change/"
    page = response.content.decode()
    assert (
        f"The segment was not deleted: Segment {segment.id} is used by 1 message(s) not yet sent "
        f"(message ids {message.id})." in page
    )
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_the_delete_action_deletes_no_segment_when_a_waiting_message_uses_one(admin_client):
    used, unused = SegmentFactory(), SegmentFactory()
    SmsMessageFactory(criteria=[f"##{used.id}##"], expansion_done=False)
    response = admin_client.post(
        "/admin/audiences/segment/",
        {"action": "delete_selected", "_selected_action": [used.id, unused.id], "post": "yes"},
        follow=True,
    )
    assert Segment.objects.filter(pk__in=[used.pk, unused.pk]).count() == 2
    assert (
        f"No segment was deleted: Segment {used.id} is used by 1 message(s) not yet sent" in response.content.decode()
    )
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_a_segment_only_sent_messages_used_is_deleted(admin_client):
    segment = SegmentFactory()
    SmsMessageFactory(criteria=[f"##{segment.id}##"], expansion_done=True)
    response = admin_client.post(f"/admin/audiences/segment/{segment.id}/delete/", {"post": "yes"}, follow=True)
    assert not Segment.objects.filter(pk=segment.pk).exists()
    assert "was deleted successfully" in response.content.decode()
    assert LogEntry.objects.filter(action_flag=DELETION, object_id=str(segment.pk)).exists()


def test_the_delete_action_deletes_segments_no_waiting_message_uses(admin_client):
    first, second = SegmentFactory(), SegmentFactory()
    response = admin_client.post(
        "/admin/audiences/segment/",
        {"action": "delete_selected", "_selected_action": [first.id, second.id], "post": "yes"},
        follow=True,
    )
    assert not Segment.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert "Successfully deleted 2 segments." in response.content.decode()
