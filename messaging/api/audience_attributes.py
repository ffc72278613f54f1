"""Custom audience attributes in the Volt MX shape (`/api/v1/admin/attributes`): create, get a
page, get one, modify. Attributes are gateway-wide (every partner's members share them), so
declaring or changing one is configuration: the `config` scope, as Volt MX asks for
ROLE_CONFIGURATIONS; reading them needs `audience:read`, as a partner must know what its members
may carry."""

from rest_framework.response import Response
from rest_framework.views import APIView

from audiences.models import AudienceAttribute
from audiences.services.attributes import (
    NOT_FOUND,
    AttributeRefused,
    attribute_as_dict,
    attribute_create,
    attribute_update,
)
from audiences.services.audience_settings import SettingsRefused, audience_settings_update
from messaging.api.access import Access
from messaging.api.audience_members import body_of, object_id, volt_paging
from messaging.errors import ContractError

SETTINGS_UPDATED = "Successfully Updated the details. "  # the trailing space is the page's
METHOD_NOT_ALLOWED = "Invalid request. Request method not allowed"
READ = Access("audience:read", ("audiences.view_audienceattribute",))
CREATE = Access("config", ("audiences.add_audienceattribute",))
CHANGE = Access("config", ("audiences.change_audienceattribute",))


def actor_of(request) -> str:
    return str(request.user)  # the services cut it to their columns


class AttributeListCreateApi(APIView):
    """GET /api/v1/admin/attributes?start=0&pageSize=10; POST: declare one."""

    access = {"GET": READ, "POST": CREATE}

    def get(self, request):
        start, page_size = volt_paging(request)
        attributes = AudienceAttribute.objects.order_by("id")
        return Response(
            {
                "total": attributes.count(),
                "attributes": [attribute_as_dict(a) for a in attributes[start : start + page_size]],
            }
        )

    def post(self, request):
        try:
            attribute = attribute_create(given=body_of(request), actor=actor_of(request))
        except AttributeRefused as error:
            raise ContractError(str(error)) from None
        return Response({"id": str(attribute.pk), "message": "Details added successfully"})


class AttributeDetailApi(APIView):
    """GET /api/v1/admin/attributes/{id}."""

    access = {"GET": READ}

    def get(self, request, attribute_id):
        attribute = AudienceAttribute.objects.filter(pk=object_id(attribute_id, not_found=NOT_FOUND)).first()
        if attribute is None:
            raise ContractError(NOT_FOUND)
        return Response(attribute_as_dict(attribute))


class AttributeModifyApi(APIView):
    """POST /api/v1/admin/attributes/{id}/modify."""

    access = {"POST": CHANGE}

    def post(self, request, attribute_id):
        try:
            attribute = attribute_update(
                attribute_id=object_id(attribute_id, not_found=NOT_FOUND),
                given=body_of(request),
                actor=actor_of(request),
            )
        except AttributeRefused as error:
            raise ContractError(str(error)) from None
        return Response({"id": str(attribute.pk), "message": "Details updated successfully"})


class AudienceSettingsApi(APIView):
    """PUT /api/v1/admin: Volt MX "Modify Details (General)", the reconciliation key above all.
    Any other method is the page's 400 `Invalid request. Request method not allowed`."""

    access = {"PUT": Access("config", ("audiences.change_audiencesettings",))}

    def put(self, request):
        try:
            audience_settings_update(given=body_of(request), actor=actor_of(request))
        except SettingsRefused as error:
            raise ContractError(str(error)) from None
        return Response({"message": SETTINGS_UPDATED, "id": ""})

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise ContractError(METHOD_NOT_ALLOWED)
