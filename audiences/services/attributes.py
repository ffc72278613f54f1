"""Declaring the custom attributes members may carry, in the Volt MX shape
(`/api/v1/admin/attributes`). Attributes are the gateway's: every partner's members share them.

An attribute that members hold values of, or that a segment's condition names, keeps its name and
type: renaming it would orphan the stored values and the conditions, and a new type would make
the values wrong.
"""

from django.db import IntegrityError, transaction

from audiences import values
from audiences.models import AttributeType, AudienceAttribute, Member, SegmentCondition
from smsgateway.columns import fit

KEYS = frozenset({"attributeName", "attributeType", "allowedValues", "attributeRequired", "allowedReconciliationKey"})
EXISTS = "Attribute already exists with this name"
BAD_TYPE_ON_CREATE = "Invalid Attribute Type. Allowed values are : String, Number, Pick List, Date"
BAD_TYPE_ON_MODIFY = "Invalid attribute type. Allowed values are : String, Number, Pick List, Date"
NOT_FOUND = "Invalid Attribute ID provided or no attribute found with given ID"


class AttributeRefused(ValueError):
    """An attribute that cannot be stored as given (the text is the client's)."""


class AttributeNotFound(AttributeRefused):
    pass


def _clean(given, *, bad_type: str, current: AudienceAttribute | None) -> dict:
    if not isinstance(given, dict):
        raise AttributeRefused("the body must be an object of attribute fields")
    unknown = [key for key in given if key not in KEYS]
    if unknown:
        raise AttributeRefused(values.invalid_attributes(unknown))
    try:
        name = values.attribute_name_clean(given.get("attributeName"))
    except ValueError as error:
        raise AttributeRefused(str(error).replace("name is required", "attributeName is required")) from None
    kind = values.attribute_type_clean(given.get("attributeType"))
    if kind is None:
        raise AttributeRefused(bad_type)
    try:
        choices = values.allowed_values_clean(given.get("allowedValues"))
        required = values.boolean_clean(given.get("attributeRequired"), "attributeRequired", default=False)
        key = values.boolean_clean(given.get("allowedReconciliationKey"), "allowedReconciliationKey", default=False)
    except ValueError as error:
        raise AttributeRefused(str(error)) from None
    if kind == AttributeType.PICK_LIST and not choices:
        raise AttributeRefused("a Pick List attribute needs its allowedValues, separated by commas")
    if current is None and AudienceAttribute.objects.count() >= values.MAX_ATTRIBUTES:
        raise AttributeRefused(f"at most {values.MAX_ATTRIBUTES} custom attributes can be declared")
    return {"name": name, "type": kind, "choices": choices, "required": required, "reconciliation_key": key}


def attribute_create(*, given, actor: str) -> AudienceAttribute:
    fields = _clean(given, bad_type=BAD_TYPE_ON_CREATE, current=None)
    if AudienceAttribute.objects.filter(name__iexact=fields["name"]).exists():
        raise AttributeRefused(EXISTS)
    try:
        with transaction.atomic():
            return AudienceAttribute.objects.create(
                **fields,
                created_by=fit(AudienceAttribute, "created_by", actor),
                modified_by=fit(AudienceAttribute, "modified_by", actor),
            )
    except IntegrityError:
        raise AttributeRefused(EXISTS) from None


def attribute_in_use(attribute: AudienceAttribute) -> bool:
    return (
        SegmentCondition.objects.filter(attribute=attribute.name).exists()
        or Member.objects.filter(attributes__has_key=attribute.name).exists()
    )


def attribute_update(*, attribute_id: int, given, actor: str) -> AudienceAttribute:
    with transaction.atomic():
        attribute = AudienceAttribute.objects.select_for_update().filter(pk=attribute_id).first()
        if attribute is None:
            raise AttributeNotFound(NOT_FOUND)
        fields = _clean(given, bad_type=BAD_TYPE_ON_MODIFY, current=attribute)
        if AudienceAttribute.objects.exclude(pk=attribute.pk).filter(name__iexact=fields["name"]).exists():
            raise AttributeRefused(EXISTS)
        if (fields["name"], fields["type"]) != (attribute.name, attribute.type) and attribute_in_use(attribute):
            raise AttributeRefused(
                f"attribute {attribute.name!r} is held by members or named by a segment: "
                "its name and type cannot change"
            )
        for name, value in fields.items():
            setattr(attribute, name, value)
        attribute.modified_by = fit(AudienceAttribute, "modified_by", actor)
        attribute.save()
    return attribute


def attribute_as_dict(attribute: AudienceAttribute) -> dict:
    return {
        "id": attribute.pk,
        "attributeName": attribute.name,
        "attributeType": values.attribute_type_label(attribute.type),
        "allowedValues": ",".join(attribute.choices or []),
        "attributeRequired": attribute.required,
        "allowedReconciliationKey": attribute.reconciliation_key,
        "lastModifiedBy": attribute.modified_by,
        "lastModifiedDateStr": values.date_str(attribute.updated_at),
        "createdDateStr": values.date_str(attribute.created_at),
        "createdBy": attribute.created_by,
    }
