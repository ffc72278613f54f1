"""The segment API (members: api_members.py; attributes: api_attributes.py). Each view parses, calls one service and
renders; authentication, parsers, renderers and errors are the project's defaults."""

from django.http import Http404
from rest_framework.response import Response
from rest_framework.views import APIView

from audiences import selectors
from audiences.models import Segment
from audiences.segments import SegmentError
from audiences.services.segments import (
    SegmentInUse,
    segment_as_dict,
    segment_create,
    segment_delete,
    segment_update,
)
from messaging.api.access import Access
from messaging.api.errors import ContractError

MAX_PAGE = 1000
DEFAULT_PAGE = 100


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


def _segment_problem(error: SegmentError) -> Response:
    return Response({"id": "", "message": "Invalid segment: " + "; ".join(error.problems)}, status=400)


class SegmentListCreateApi(APIView):
    """GET /api/v1/segments: a page of segments. POST: add one."""

    access = {
        "GET": Access("segments", ("audiences.view_segment",)),
        "POST": Access("segments", ("audiences.add_segment",)),
    }

    def get(self, request):
        start, per_page = _paging(request)
        segments = Segment.objects.order_by("id").prefetch_related("conditions")
        total = segments.count()
        return Response(
            {
                "totalCount": total,
                "startElement": start,
                "elementsPerPage": per_page,
                "segments": [segment_as_dict(s) for s in segments[start - 1 : start - 1 + per_page]],
            }
        )

    def post(self, request):
        body = _body(request)
        try:
            segment = segment_create(
                name=body.get("name"), definition=body.get("definition"), conditions=body.get("conditions")
            )
        except SegmentError as error:
            return _segment_problem(error)
        return Response({"id": str(segment.pk), "message": "Segment added successfully"})


class SegmentDetailApi(APIView):
    """GET (with ?count=true, how many members it holds now), PUT, DELETE /api/v1/segments/{id}."""

    access = {
        "GET": Access("segments", ("audiences.view_segment",)),
        "PUT": Access("segments", ("audiences.change_segment",)),
        "DELETE": Access("segments", ("audiences.delete_segment",)),
    }

    def get(self, request, segment_id):
        segment = Segment.objects.prefetch_related("conditions").filter(pk=_object_id(segment_id)).first()
        if segment is None:
            raise Http404
        body = segment_as_dict(segment)
        if request.query_params.get("count", "").lower() == "true":
            try:
                body["memberCount"] = selectors.segment_member_count(segment=segment)
                body["reachableCount"] = selectors.segment_member_count(segment=segment, channel="text")
            except SegmentError as error:
                return _segment_problem(error)
        return Response(body)

    def put(self, request, segment_id):
        body = _body(request)
        try:
            segment = segment_update(
                segment_id=_object_id(segment_id),
                name=body.get("name"),
                definition=body.get("definition"),
                conditions=body.get("conditions"),
            )
        except Segment.DoesNotExist:
            raise Http404 from None
        except SegmentError as error:
            return _segment_problem(error)
        return Response({"id": str(segment.pk), "message": "Segment updated successfully"})

    def delete(self, request, segment_id):
        segment_pk = _object_id(segment_id)
        try:
            deleted = segment_delete(segment_id=segment_pk)
        except SegmentInUse as error:
            return Response({"id": str(segment_pk), "message": str(error)}, status=409)
        except SegmentError as error:
            return _segment_problem(error)
        if not deleted:
            raise Http404
        return Response({"id": str(segment_pk), "message": "Segment deleted successfully"})
