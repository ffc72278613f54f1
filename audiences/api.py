"""The audience API, in the Volt MX shapes, and what the audience and segment APIs share
(audiences/api_segments.py holds the segment views). Each view parses, calls one service and
renders; authentication, parsers, renderers and errors are the project's defaults."""

import datetime

from django.http import Http404
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from audiences import selectors
from audiences.models import Member
from audiences.services.members import MemberError, member_as_dict, member_create, member_delete, member_update
from messaging.api.access import Access
from messaging.api.authentication import PartnerSystem
from messaging.api.errors import ContractError

MAX_PAGE = 1000
DEFAULT_PAGE = 100


INVALID_ATTRIBUTES = "The request contains invalid attributes"
INVALID_FORMAT = "Invalid request format"


def invalid_attributes(keys) -> ContractError:
    """The 400 for body keys an endpoint does not know (never dropped silently)."""
    return ContractError(f"{INVALID_ATTRIBUTES}: {', '.join(keys)}")


def caller_audience_owner(request) -> str | None:
    """Whose audience a caller works in: "key:<id>" for a partner system, None for a gateway user
    (staff by permission), who reaches the whole audience and makes shared entries."""
    if isinstance(request.user, PartnerSystem):
        return f"key:{request.user.api_key.pk}"
    return None


def caller_name(request) -> str:
    """The name recorded as createdBy / lastModifiedBy."""
    if isinstance(request.user, PartnerSystem):
        return request.user.api_key.name
    return request.user.get_username()


def volt_mx_date_text(moment: datetime.datetime | None) -> str:
    """A moment as Volt MX writes `...DateStr`: `06/21/2016 03:25:01 PM IST`, in local time."""
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%m/%d/%Y %I:%M:%S %p %Z")


def start_page_size(request, *, default: int = DEFAULT_PAGE) -> tuple[int, int]:
    """Volt MX list paging: `start` (0-based offset) and `pageSize` (how many), from the query."""

    def number(name, fallback, low, high):
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return fallback
        if not (raw.isascii() and raw.strip().isdigit()) or not low <= int(raw) <= high:
            raise ContractError(f"{INVALID_FORMAT}: {name} must be a whole number from {low} to {high}")
        return int(raw)

    return number("start", 0, 0, 10**12), number("pageSize", default, 1, MAX_PAGE)


def _object_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise Http404
    return int(raw)


def _body(request) -> dict:
    body = request.data
    if not isinstance(body, dict):
        raise ContractError("the body must be a JSON object")
    return body


def _paging(request) -> tuple[int, int]:
    def number(name, default, low, high):
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return default
        if not (raw.isascii() and raw.strip().isdigit()) or not low <= int(raw) <= high:
            raise ContractError(f"{name} must be a whole number from {low} to {high}")
        return int(raw)

    return number("startElement", 1, 1, 10**12), number("elementsPerPage", DEFAULT_PAGE, 1, MAX_PAGE)


def _member_problem(error: MemberError) -> Response:
    body = {"id": "", "message": str(error)}
    if error.member_id is not None:
        body["existingId"] = str(error.member_id)
    return Response(body, status=400)


class AudienceListCreateApi(APIView):
    """GET /api/v1/audience: a page of members. POST: add one member."""

    access = {
        "GET": Access("audience:read", ("audiences.view_member",)),
        "POST": Access("audience:write", ("audiences.add_member",)),
    }

    def get(self, request):
        start, per_page = _paging(request)
        page = selectors.members_page(
            start=start,
            per_page=per_page,
            mobile=request.query_params.get("mobileNumber") or None,
            email=request.query_params.get("email") or None,
        )
        return Response(
            {
                "totalCount": page.total,
                "startElement": start,
                "elementsPerPage": per_page,
                "audience": [member_as_dict(member) for member in page.members],
            }
        )

    def post(self, request):
        try:
            member = member_create(given=_body(request))
        except MemberError as error:
            return _member_problem(error)
        return Response({"id": str(member.pk), "message": "Details added successfully"})


class AudienceDetailApi(APIView):
    """GET, PUT, DELETE /api/v1/audience/{id}."""

    access = {
        "GET": Access("audience:read", ("audiences.view_member",)),
        "PUT": Access("audience:write", ("audiences.change_member",)),
        "DELETE": Access("audience:write", ("audiences.delete_member",)),
    }

    def get(self, request, member_id):
        member = Member.objects.filter(pk=_object_id(member_id)).first()
        if member is None:
            raise Http404
        return Response(member_as_dict(member))

    def put(self, request, member_id):
        given = _body(request)
        try:
            member = member_update(member_id=_object_id(member_id), given=given)
        except Member.DoesNotExist:
            raise Http404 from None
        except MemberError as error:
            return _member_problem(error)
        return Response({"id": str(member.pk), "message": "Details updated successfully"})

    def delete(self, request, member_id):
        member_pk = _object_id(member_id)
        if not member_delete(member_id=member_pk):
            raise Http404
        return Response({"id": str(member_pk), "message": "Details deleted successfully"})
