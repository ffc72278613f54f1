"""Audience members in the Volt MX shape (`/api/v1/audience`): create, get one, get a page,
modify (PUT by id, PATCH by id or email), delete (POST …/delete, and DELETE). Each view parses,
calls one service and renders.

A partner key reads its own members and the gateway's shared audience and changes only its own;
another partner's member answers as a missing one. Gateway users are governed by permissions.
"""

from rest_framework.response import Response
from rest_framework.views import APIView

from audiences.selectors import members_visible
from audiences.services.members import (
    NOT_FOUND,
    NOT_FOUND_ON_DELETE,
    MemberError,
    member_as_dict,
    member_create,
    member_delete,
    member_update,
)
from messaging.api.access import Access
from messaging.api.authentication import PartnerSystem, caller_client
from messaging.errors import ContractError
from messaging.ids import id_from_text

MAX_PAGE = 1000
DEFAULT_PAGE = 100
INVALID_FORMAT = "Invalid request format"

READ = Access("audience:read", ("audiences.view_member",))
CREATE = Access("audience:write", ("audiences.add_member",))
CHANGE = Access("audience:write", ("audiences.change_member",))
DELETE = Access("audience:write", ("audiences.delete_member",))


def partner_of(request) -> str | None:
    """The owner tag of a partner key ("key:<id>"), or None for a gateway user."""
    return caller_client(request) if isinstance(request.user, PartnerSystem) else None


def object_id(raw, *, not_found: str) -> int:
    number = id_from_text(raw)
    if number is None:
        raise ContractError(not_found)
    return number


def body_of(request) -> dict:
    body = request.data
    if not isinstance(body, dict):
        raise ContractError(f"{INVALID_FORMAT}: the body must be a JSON object")
    return body


def volt_paging(request) -> tuple[int, int]:
    """(0-based offset, page size) from Volt MX `start` and `pageSize`; this gateway's earlier
    1-based `startElement` and `elementsPerPage` are taken too."""
    params = request.query_params

    def number(name, default, low, high):
        raw = params.get(name)
        if raw in (None, ""):
            return default
        if not (raw.isascii() and raw.strip().isdigit()) or not low <= int(raw) <= high:
            raise ContractError(f"{INVALID_FORMAT}: {name} must be a whole number from {low} to {high}")
        return int(raw)

    if "start" in params or "pageSize" in params:
        return number("start", 0, 0, 10**12), number("pageSize", DEFAULT_PAGE, 1, MAX_PAGE)
    return number("startElement", 1, 1, 10**12) - 1, number("elementsPerPage", DEFAULT_PAGE, 1, MAX_PAGE)


def member_problem(error: MemberError) -> Response:
    member_id = "" if error.member_id is None else str(error.member_id)
    return Response({"id": member_id, "message": str(error)}, status=error.status)


class AudienceListCreateApi(APIView):
    """GET /api/v1/audience?start=0&pageSize=20: a page of the members the caller may read.
    POST: add one member, owned by the partner that adds it."""

    access = {"GET": READ, "POST": CREATE}

    def get(self, request):
        start, page_size = volt_paging(request)
        members = members_visible(caller=partner_of(request)).order_by("id")
        mobile = request.query_params.get("mobileNumber")
        email = request.query_params.get("email")
        if mobile:
            members = members.filter(mobile=mobile.strip())
        if email:
            members = members.filter(email=email.strip().lower())
        return Response(
            {
                "total": members.count(),
                "audience": [member_as_dict(member) for member in members[start : start + page_size]],
            }
        )

    def post(self, request):
        try:
            member = member_create(given=body_of(request), caller=partner_of(request))
        except MemberError as error:
            return member_problem(error)
        return Response({"id": str(member.pk), "message": "Details added successfully"})


class AudienceDetailApi(APIView):
    """GET, PUT (modify), DELETE /api/v1/audience/{id}."""

    access = {"GET": READ, "PUT": CHANGE, "DELETE": DELETE}

    def get(self, request, member_id):
        member_pk = object_id(member_id, not_found=NOT_FOUND)
        member = members_visible(caller=partner_of(request)).filter(pk=member_pk).first()
        if member is None:
            raise ContractError(NOT_FOUND)
        return Response(member_as_dict(member))

    def put(self, request, member_id):
        member_pk = object_id(member_id, not_found=NOT_FOUND)
        try:
            member = member_update(member_id=member_pk, given=body_of(request), caller=partner_of(request))
        except MemberError as error:
            return member_problem(error)
        return Response({"id": str(member.pk), "message": "Details updated successfully"})

    def delete(self, request, member_id):
        return _delete(request, member_id)


def _delete(request, member_id) -> Response:
    member_pk = object_id(member_id, not_found=NOT_FOUND_ON_DELETE)
    try:
        member_delete(member_id=member_pk, caller=partner_of(request))
    except MemberError as error:
        return member_problem(error)
    return Response({"id": str(member_pk), "message": "User deleted successfully"})


class AudienceDeleteApi(APIView):
    """POST /api/v1/audience/{id}/delete (Volt MX Delete Users)."""

    access = {"POST": DELETE}

    def post(self, request, member_id):
        return _delete(request, member_id)


class AudienceModifyApi(APIView):
    """PATCH /api/v1/audience/modify?id=<id> or ?emailId=<email> (Volt MX "Update User using a New
    Patch"): only the keys given change. `id` or `emailId` may also come in the body."""

    access = {"PATCH": CHANGE}

    def patch(self, request):
        given = body_of(request)
        member_id = request.query_params.get("id") or given.get("id")
        email = request.query_params.get("emailId") or given.get("emailId")
        changes = {key: value for key, value in given.items() if key not in ("id", "emailId")}
        if member_id not in (None, ""):
            lookup = {"member_id": object_id(member_id, not_found=NOT_FOUND)}
        elif isinstance(email, str) and email.strip():
            lookup = {"email": email}
        else:
            raise ContractError(f"{INVALID_FORMAT}: give the member's id or emailId")
        try:
            member = member_update(**lookup, given=changes, caller=partner_of(request))
        except MemberError as error:
            return member_problem(error)
        return Response({"id": str(member.pk), "message": "Details updated successfully"})
