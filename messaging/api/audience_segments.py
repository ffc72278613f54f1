"""The segment API in the Volt MX shape (voltmx-family.md section 1): create, get one, get all,
modify, delete, publish, unpublish and validate at the documented paths, with the documented
bodies and texts. PUT and DELETE /api/v1/segments/{id} stay as modify and delete.

A partner key (scope `segments`) reads its own segments and the gateway's shared ones, and changes
only its own; another partner's segment is a 404, as a missing one. Gateway users act by their
permissions on every segment.
"""

from django.http import Http404
from rest_framework.response import Response
from rest_framework.views import APIView

from audiences import selectors
from audiences.booleans import boolean_from_text
from audiences.models import ConditionType, Segment
from audiences.segments import SegmentError, segment_plan
from audiences.services.segments import (
    SegmentActor,
    SegmentInUse,
    SegmentInvalidKeys,
    SegmentShared,
    segment_create,
    segment_delete,
    segment_publish,
    segment_update,
)
from messaging.api.access import Access
from messaging.api.audience_shared import (
    INVALID_FORMAT,
    _body,
    _object_id,
    caller_audience_owner,
    caller_name,
    invalid_attributes,
    start_page_size,
    volt_mx_date_text,
)
from messaging.errors import ContractError

SEGMENTS_VIEW = Access("segments", ("audiences.view_segment",))
SEGMENTS_ADD = Access("segments", ("audiences.add_segment",))
SEGMENTS_CHANGE = Access("segments", ("audiences.change_segment",))
SEGMENTS_DELETE = Access("segments", ("audiences.delete_segment",))


def segment_as_volt_mx(segment: Segment) -> dict:
    """The Volt MX segment object; `published` is the gateway's addition."""
    conditions = sorted(segment.conditions.all(), key=lambda c: c.number)
    advanced = segment.condition_type == ConditionType.ADVANCED
    return {
        "id": segment.pk,
        "name": segment.name,
        "owner": segment.owner_label or segment.created_by,
        "segmentDefinition": segment.definition if advanced else "",
        "conditionType": segment.condition_type,
        "published": segment.published,
        "lastModifiedBy": segment.last_modified_by,
        "lastModifiedDateStr": volt_mx_date_text(segment.updated_at),
        "createdBy": segment.created_by,
        "createdDateStr": volt_mx_date_text(segment.created_at),
        "segmentAudienceList": [
            {
                "attributeOperator": c.operator,
                "attributeValue": c.value,
                "attributeName": c.attribute,
                "conditionNo": c.number,
            }
            for c in conditions
        ],
    }


def _actor(request) -> SegmentActor:
    return SegmentActor(owner=caller_audience_owner(request), name=caller_name(request))


def _visible(request, segment_id: str) -> Segment:
    """The segment the caller may read; another partner's is as missing."""
    segment = (
        selectors.segments_visible(owner=caller_audience_owner(request))
        .prefetch_related("conditions")
        .filter(pk=_object_id(segment_id))
        .first()
    )
    if segment is None:
        raise Http404
    return segment


def _problem(error: SegmentError) -> ContractError:
    return ContractError("; ".join(error.problems))


def _shared(error: SegmentShared) -> ContractError:
    return ContractError(f"Forbidden: {error}", status_code=403)


def _no_body(request) -> None:
    """Publish, unpublish and delete take only the id of the path: any body key is unknown."""
    if isinstance(request.data, dict) and request.data:
        raise invalid_attributes([str(key) for key in request.data])
    if request.data not in ({}, None, "", []) and not isinstance(request.data, dict):
        raise ContractError(INVALID_FORMAT)


def _given(request) -> dict:
    try:
        return _body(request)
    except ContractError:
        raise ContractError(INVALID_FORMAT) from None


class SegmentListCreateApi(APIView):
    """GET /api/v1/segments?start=0&pageSize=20: `total` and `segments[]`. POST: create one."""

    access = {"GET": SEGMENTS_VIEW, "POST": SEGMENTS_ADD}

    def get(self, request):
        start, page_size = start_page_size(request)
        segments = selectors.segments_visible(owner=caller_audience_owner(request)).order_by("id")
        page = segments.prefetch_related("conditions")[start : start + page_size]
        return Response({"total": segments.count(), "segments": [segment_as_volt_mx(s) for s in page]})

    def post(self, request):
        try:
            segment = segment_create(given=_given(request), actor=_actor(request))
        except SegmentInvalidKeys as error:
            raise invalid_attributes(error.keys) from None
        except SegmentError as error:
            raise _problem(error) from None
        return Response({"id": str(segment.pk), "message": "Details added successfully"})


def _modify(request, segment_id: str) -> Response:
    segment = _visible(request, segment_id)
    try:
        segment = segment_update(segment_id=segment.pk, given=_given(request), actor=_actor(request))
    except Segment.DoesNotExist:
        raise Http404 from None
    except SegmentInvalidKeys as error:
        raise invalid_attributes(error.keys) from None
    except SegmentShared as error:
        raise _shared(error) from None
    except SegmentError as error:
        raise _problem(error) from None
    return Response({"id": str(segment.pk), "message": "Details updated successfully"})


def _delete(request, segment_id: str) -> Response:
    segment = _visible(request, segment_id)
    _no_body(request)
    try:
        deleted = segment_delete(segment_id=segment.pk, actor=_actor(request))
    except SegmentInUse as error:
        raise ContractError(str(error), status_code=409) from None
    except SegmentShared as error:
        raise _shared(error) from None
    except SegmentError as error:
        raise _problem(error) from None
    if not deleted:
        raise Http404
    return Response({"id": str(segment.pk), "message": "Segment deleted successfully"})


class SegmentDetailApi(APIView):
    """GET /api/v1/segments/{id} (with ?count=true, how many of the caller's reachable members it
    holds now); PUT modifies and DELETE deletes, as the POST forms do."""

    access = {"GET": SEGMENTS_VIEW, "PUT": SEGMENTS_CHANGE, "DELETE": SEGMENTS_DELETE}

    def get(self, request, segment_id):
        segment = _visible(request, segment_id)
        body = segment_as_volt_mx(segment)
        if boolean_from_text(request.query_params.get("count")) is True:
            owner = caller_audience_owner(request)
            try:
                body["memberCount"] = selectors.segment_member_count(segment=segment, owner=owner)
                body["reachableCount"] = selectors.segment_member_count(segment=segment, channel="text", owner=owner)
            except SegmentError as error:
                raise _problem(error) from None
        return Response(body)

    def put(self, request, segment_id):
        return _modify(request, segment_id)

    def delete(self, request, segment_id):
        return _delete(request, segment_id)


class SegmentModifyApi(APIView):
    """POST /api/v1/segments/{id}/modify."""

    access = {"POST": SEGMENTS_CHANGE}

    def post(self, request, segment_id):
        return _modify(request, segment_id)


class SegmentDeleteApi(APIView):
    """POST /api/v1/segments/{id}/delete; 409 while a message not yet sent uses the segment."""

    access = {"POST": SEGMENTS_DELETE}

    def post(self, request, segment_id):
        return _delete(request, segment_id)


class SegmentPublishApi(APIView):
    """POST /api/v1/segments/{id}/publish and /unpublish: only a published segment is sent to."""

    access = {"POST": SEGMENTS_CHANGE}
    published = True
    answer = "Segment published successfully"

    def post(self, request, segment_id):
        segment = _visible(request, segment_id)
        _no_body(request)
        try:
            segment_publish(segment_id=segment.pk, published=self.published, actor=_actor(request))
        except SegmentShared as error:
            raise _shared(error) from None
        except SegmentError as error:
            raise _problem(error) from None
        return Response({"id": str(segment.pk), "message": self.answer})


class SegmentUnpublishApi(SegmentPublishApi):
    published = False
    answer = "Segment  deleted successfully"  # sic: the documented answer, two spaces and all


class SegmentValidateApi(APIView):
    """GET /api/v1/segments/{id}/validate: whether the segment evaluates, and how many of the
    caller's members it holds now."""

    access = {"GET": SEGMENTS_VIEW}

    def get(self, request, segment_id):
        segment = _visible(request, segment_id)
        try:
            segment_plan(segment)
            count = selectors.segment_member_count(segment=segment, owner=caller_audience_owner(request))
        except SegmentError as error:
            raise ContractError("Segment criteria is invalid: " + "; ".join(error.problems)) from None
        message = f"Segment Criteria is valid. Audience Members Count: {count}"
        return Response({"id": str(segment.pk), "message": message})
