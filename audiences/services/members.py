"""Creating, changing and removing audience members, with the Volt MX rules."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from audiences import values
from audiences.models import Member

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
KNOWN_KEYS = frozenset(API_FIELDS) | {"attributes", "id", "mobile"}


class MemberError(ValueError):
    """A member that cannot be stored as given; `member_id` names an existing member it clashes with."""

    def __init__(self, message: str, *, member_id: int | None = None):
        super().__init__(message)
        self.member_id = member_id


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


def member_fields_clean(given: dict, *, declared: dict, current: Member | None = None) -> MemberFields:
    """The fields of a member from its API shape; for an update, what is not given stays."""
    if not isinstance(given, dict):
        raise MemberError("the body must be an object of member fields")
    unknown = sorted(str(key) for key in given if key not in KNOWN_KEYS)
    if unknown:
        raise MemberError(f'unknown field {unknown[0]!r}; custom attributes go under "attributes"')
    if "mobile" in given and "mobileNumber" not in given:
        given = {**given, "mobileNumber": given["mobile"]}

    def pick(api_name):
        if api_name in given:
            return given[api_name]
        return getattr(current, API_FIELDS[api_name]) if current is not None else None

    try:
        country = values.required_text(pick("country"), "country", max_length=64)
        state = values.optional_text(pick("state"), "state", max_length=64)
        if values.is_usa(country) and not state:
            raise ValueError("state is required when the country is the USA")
        fields = MemberFields(
            first_name=values.required_text(pick("firstName"), "firstName", max_length=100),
            last_name=values.required_text(pick("lastName"), "lastName", max_length=100),
            email=values.email_clean(pick("email")),
            mobile=values.mobile_clean(pick("mobileNumber"), region=values.country_region(country)),
            country=country,
            state=state,
            active=values.boolean_clean(pick("active"), "active", default=True),
            sms_subscription=values.boolean_clean(pick("smsSubscription"), "smsSubscription", default=True),
            voice_subscription=values.boolean_clean(pick("voiceSubscription"), "voiceSubscription", default=True),
            email_subscription=values.boolean_clean(pick("emailSubscription"), "emailSubscription", default=True),
            last_active_date=(
                values.moment_clean(given["lastActiveDate"], "lastActiveDate")
                if "lastActiveDate" in given
                else (current.last_active_date if current is not None else None)
            ),
            attributes=values.attributes_clean(
                given.get("attributes"), declared, current=current.attributes if current is not None else None
            ),
        )
    except ValueError as error:
        raise MemberError(str(error)) from None
    return fields


def _clashes(fields: MemberFields, *, exclude_id: int | None) -> None:
    others = Member.objects.exclude(pk=exclude_id) if exclude_id else Member.objects.all()
    if fields.mobile:
        owner = others.filter(mobile=fields.mobile).values_list("id", flat=True).first()
        if owner is not None:
            raise MemberError(f"mobileNumber {fields.mobile} already belongs to member {owner}", member_id=owner)
    owner = others.filter(email=fields.email).values_list("id", flat=True).first()
    if owner is not None:
        raise MemberError(f"email {fields.email} already belongs to member {owner}", member_id=owner)


def member_create(*, given: dict) -> Member:
    fields = member_fields_clean(given, declared=values.attributes_declared())
    _clashes(fields, exclude_id=None)
    try:
        with transaction.atomic():
            return Member.objects.create(**fields.__dict__)
    except IntegrityError:  # a concurrent writer took the mobile or email meanwhile
        _clashes(fields, exclude_id=None)
        raise


def member_update(*, member_id: int, given: dict) -> Member:
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member_id)
        fields = member_fields_clean(given, declared=values.attributes_declared(), current=member)
        _clashes(fields, exclude_id=member.pk)
        for name, value in fields.__dict__.items():
            setattr(member, name, value)
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            _clashes(fields, exclude_id=member.pk)
            raise
    return member


def member_delete(*, member_id: int) -> bool:
    deleted, _ = Member.objects.filter(pk=member_id).delete()
    return bool(deleted)


def member_as_dict(member: Member) -> dict:
    """A member in the API's shape."""
    return {
        "id": str(member.pk),
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
        "lastActiveDate": member.last_active_date.isoformat() if member.last_active_date else "",
        "attributes": dict(member.attributes or {}),
        "createdDate": member.created_at.isoformat() if member.created_at else "",
        "lastUpdatedDate": member.updated_at.isoformat() if member.updated_at else "",
    }
