"""Creating, changing and removing audience members, with the Volt MX rules and texts.

Who may touch a member: a partner key owns the members it creates (`owner` is its tag,
"key:<id>"); members made by staff or by an import belong to the gateway's shared audience
(`owner` empty). `caller` below is the partner's tag, or None for a gateway user (staff, governed
by permissions): a partner reads its own and the shared members, and changes only its own; another
partner's member is answered as a missing one. Mobile numbers and emails stay unique across the
gateway; a clash with a member the caller cannot see is reported without its id.

Consent belongs to the person: a member who texted STOP (`sms_opted_out_at`) is not subscribed to
SMS again through this API; a text from the number (START) or a staff lift with a reason does it.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from audiences import values
from audiences.models import AudienceAttribute, Member
from audiences.selectors import members_visible
from audiences.services.audience_settings import reconciliation_field

# API name -> model field, for the plain fields of a member.
API_FIELDS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "mobileNumber": "mobile",
    "country": "country",
    "state": "state",
    "active": "active",
    "smsSubscription": "sms_subscription",
    "voiceSubscription": "voice_subscription",
    "emailSubscription": "email_subscription",
    "lastActiveDate": "last_active_date",
}
KNOWN_KEYS = frozenset(API_FIELDS) | values.MEMBER_BODY_KEYS
MOBILE_ALIASES = ("mobileNumber", "mobile", "mobileNo")

MOBILE_INVALID = "Mobile number should have country code followed by ten digit number"
MOBILE_TAKEN = "User already exists with this mobile number"
EMAIL_TAKEN_ON_CREATE = "User already exists with this Email {email}"
EMAIL_TAKEN = "User already exists with this email"
ATTRIBUTE_MANDATORY = "Attribute '{name}' is a mandatory field. Please provide a valid value for the same"
NOT_FOUND = "Invalid Audience Member ID provided or no audience member found with given ID"
NOT_FOUND_ON_DELETE = "Invalid audience member ID provided or no audience member found with given ID"
SHARED_READ_ONLY = "Forbidden: members of the gateway's shared audience are changed by its staff only"
OPTED_OUT = (
    "smsSubscription cannot be set to true: this member opted out by texting STOP. Only a text "
    "from the member's number (START) or the gateway's staff, with a reason, can subscribe it again"
)


class MemberError(ValueError):
    """A member that cannot be stored as given; `member_id` names an existing member it clashes
    with (None when the caller may not see that member)."""

    status = 400

    def __init__(self, message: str, *, member_id: int | None = None):
        super().__init__(message)
        self.member_id = member_id


class MemberNotFound(MemberError):
    """No such member, or one the caller may not see: the two answer alike."""


class MemberReadOnly(MemberError):
    """A shared member that a partner may read but not change."""

    status = 403


@dataclass
class MemberFields:
    first_name: str
    last_name: str
    email: str
    mobile: str | None
    country: str
    state: str
    active: bool
    sms_subscription: bool
    voice_subscription: bool
    email_subscription: bool
    last_active_date: object
    attributes: dict


def _given_attributes(given: dict, declared: dict[str, AudienceAttribute]):
    """Custom attributes of a body: at its top level, keyed by name (Volt MX), or under
    "attributes" (this gateway's earlier shape)."""
    top_level = {name: value for name, value in given.items() if name in declared and name not in KNOWN_KEYS}
    nested = given.get("attributes")
    if nested is None:
        return top_level or None
    if not isinstance(nested, dict):
        raise ValueError("attributes must be an object of name: value")
    unknown = [name for name in nested if name not in declared]
    if unknown:
        raise MemberError(values.invalid_attributes(unknown))
    return {**nested, **top_level}


def member_fields_clean(given: dict, *, declared: dict, current: Member | None = None) -> MemberFields:
    """The fields of a member from its API shape; for an update, what is not given stays."""
    if not isinstance(given, dict):
        raise MemberError("the body must be an object of member fields")
    unknown = [key for key in given if key not in KNOWN_KEYS and key not in declared]
    if unknown:
        raise MemberError(values.invalid_attributes(unknown))
    mobile_key = next((key for key in MOBILE_ALIASES if key in given), None)
    if mobile_key is not None:
        given = {**given, "mobileNumber": given[mobile_key]}
    if "lastActiveDateStr" in given and "lastActiveDate" not in given:
        given = {**given, "lastActiveDate": given["lastActiveDateStr"]}

    def pick(api_name):
        if api_name in given:
            return given[api_name]
        return getattr(current, API_FIELDS[api_name]) if current is not None else None

    try:
        country = values.required_text(pick("country"), "country", max_length=64)
        state = values.optional_text(pick("state"), "state", max_length=64)
        if values.is_usa(country) and not state:
            raise ValueError("state is required when the country is the USA")
        try:
            mobile = values.mobile_clean(pick("mobileNumber"), region=values.country_region(country))
        except ValueError:
            raise MemberError(MOBILE_INVALID) from None
        given_attributes = _given_attributes(given, declared)
        attributes = values.attributes_clean(
            given_attributes, declared, current=current.attributes if current is not None else None
        )
        for attribute in declared.values():
            removed = given_attributes is not None and attribute.name in given_attributes
            if attribute.required and attribute.name not in attributes and (current is None or removed):
                raise MemberError(ATTRIBUTE_MANDATORY.format(name=attribute.name))
        fields = MemberFields(
            first_name=values.required_text(pick("firstName"), "firstName", max_length=100),
            last_name=values.required_text(pick("lastName"), "lastName", max_length=100),
            email=values.email_clean(pick("email")),
            mobile=mobile,
            country=country,
            state=state,
            active=values.boolean_clean(pick("active"), "active", default=True),
            sms_subscription=values.boolean_clean(pick("smsSubscription"), "smsSubscription", default=True),
            voice_subscription=values.boolean_clean(pick("voiceSubscription"), "voiceSubscription", default=True),
            email_subscription=values.boolean_clean(pick("emailSubscription"), "emailSubscription", default=True),
            last_active_date=(
                values.date_str_clean(given["lastActiveDate"], "lastActiveDate")
                if "lastActiveDate" in given
                else (current.last_active_date if current is not None else None)
            ),
            attributes=attributes,
        )
    except MemberError:
        raise
    except ValueError as error:
        raise MemberError(str(error)) from None
    return fields


def _clashes(fields: MemberFields, *, exclude_id: int | None, caller: str | None, email_text: str) -> None:
    others = Member.objects.exclude(pk=exclude_id) if exclude_id else Member.objects.all()
    for column, value, text in (("mobile", fields.mobile, MOBILE_TAKEN), ("email", fields.email, email_text)):
        if not value:
            continue
        found = others.filter(**{column: value}).values_list("id", "owner").first()
        if found is not None:
            member_id, owner = found
            visible = caller is None or owner in (caller, "")
            raise MemberError(text.format(email=fields.email), member_id=member_id if visible else None)


def member_create(*, given: dict, caller: str | None) -> Member:
    """A new member, owned by the partner that creates it (`caller`), or shared when staff do."""
    fields = member_fields_clean(given, declared=values.attributes_declared())
    required = reconciliation_field()
    if required and not (fields.email if required == "email" else fields.mobile):
        raise MemberError(ATTRIBUTE_MANDATORY.format(name=required))
    email_text = EMAIL_TAKEN_ON_CREATE
    _clashes(fields, exclude_id=None, caller=caller, email_text=email_text)
    try:
        with transaction.atomic():
            return Member.objects.create(**fields.__dict__, owner=caller or "")
    except IntegrityError:  # a concurrent writer took the mobile or email meanwhile
        _clashes(fields, exclude_id=None, caller=caller, email_text=email_text)
        raise


def _member_for_change(*, member_id: int | None, email: str | None, caller: str | None, not_found: str) -> Member:
    members = members_visible(caller=caller).select_for_update()
    member = None
    if member_id is not None:
        member = members.filter(pk=member_id).first()
    elif email:
        member = members.filter(email=email.strip().lower()).first()
    if member is None:
        raise MemberNotFound(not_found)
    if caller is not None and member.owner != caller:
        raise MemberReadOnly(SHARED_READ_ONLY)
    return member


def member_update(*, given: dict, caller: str | None, member_id: int | None = None, email: str | None = None) -> Member:
    """Change what is given of a member found by id (or by email); what is not given stays."""
    with transaction.atomic():
        member = _member_for_change(member_id=member_id, email=email, caller=caller, not_found=NOT_FOUND)
        fields = member_fields_clean(given, declared=values.attributes_declared(), current=member)
        if member.sms_opted_out_at is not None and fields.sms_subscription and not member.sms_subscription:
            raise MemberError(OPTED_OUT)
        _clashes(fields, exclude_id=member.pk, caller=caller, email_text=EMAIL_TAKEN)
        for name, value in fields.__dict__.items():
            setattr(member, name, value)
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            _clashes(fields, exclude_id=member.pk, caller=caller, email_text=EMAIL_TAKEN)
            raise
    return member


def member_delete(*, member_id: int, caller: str | None) -> None:
    with transaction.atomic():
        member = _member_for_change(member_id=member_id, email=None, caller=caller, not_found=NOT_FOUND_ON_DELETE)
        member.delete()


def member_opt_out_lift(*, member: Member, reason: str, actor: str) -> bool:
    """Subscribe again a member who texted STOP, on a staff member's word and reason (kept on the
    member). False when the member had not opted out by text."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise MemberError("a reason is required to lift an opt-out")
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        if member.sms_opted_out_at is None:
            return False
        when = timezone.now()
        stopped = values.date_str(member.sms_opted_out_at)
        note = f"{values.date_str(when)}: STOP of {stopped} lifted by {actor}: {reason}"
        member.sms_opted_out_at = None
        member.sms_subscription = True
        member.sms_opt_out_lifted = note[:2000]
        member.save(update_fields=["sms_opted_out_at", "sms_subscription", "sms_opt_out_lifted", "updated_at"])
    return True


def member_as_dict(member: Member) -> dict:
    """A member in the Volt MX shape, its custom attributes at the top level."""
    return {
        **dict(member.attributes or {}),
        "id": member.pk,
        "firstName": member.first_name,
        "lastName": member.last_name,
        "email": member.email or "",
        "mobileNumber": member.mobile or "",
        "country": member.country,
        "state": member.state,
        "active": member.active,
        "smsSubscription": member.sms_subscription,
        "voiceSubscription": member.voice_subscription,
        "emailSubscription": member.email_subscription,
        "createdDateStr": values.date_str(member.created_at),
        "lastModifiedDateStr": values.date_str(member.updated_at),
        "lastActiveDateStr": values.date_str(member.last_active_date),
    }
