"""The SMS API. Each view parses, validates, calls one service and renders."""

import hashlib
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils import timezone
from django.views import defaults
from rest_framework.response import Response
from rest_framework.views import APIView

from audiences.selectors import audience_owner_of_client, segment_ids_sendable, segment_sizes
from messaging import selectors
from messaging.ids import id_from_text
from messaging.models import RequestFormat
from messaging.services import cancel
from messaging.services.requests import body_digest, sms_request_find_replay, sms_request_submit

from .access import Access
from .authentication import PartnerSystem, caller_client, client_of
from .errors import REQUEST_QUEUED, SERVER_FAILURE, RequestTooLarge, contract_body, translate_exception
from .middleware import API_PREFIXES, contract_response
from .normaliser import _Invalid, normalise_send_request, parse_bool


def request_body(request) -> bytes:
    """The raw body of a Django request, read once; DRF's parsers then read it from memory."""
    try:
        return request.body
    except RequestDataTooBig:
        raise RequestTooLarge(settings.SMS_MAX_BODY_BYTES) from None


def idempotency_key_of(request) -> str | None:
    """The Idempotency-Key header; one longer than the column is kept as its digest, whole."""
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if len(key) > 255:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key or None


class SmsSendApi(APIView):
    """POST /api/v1/message/sms: accept a send request, store it whole, queue it.

    The route is served by messaging.api.send_fast.sms_send, which answers a partner key's JSON
    request without DRF's layers and hands every other request to this view."""

    access = {"POST": Access("send", ("messaging.add_smsrequest",))}

    def post(self, request):
        return Response(sms_send_accept(request._request, user=request.user, tree_of=lambda: request.data))


def sms_send_accept(http_request, *, user, tree_of) -> dict:
    """What POST /api/v1/message/sms does once its caller is let in: the body read and hashed,
    parsed (`tree_of`, a 400 at once for a bad body), a replay answered, the request normalised
    and stored whole; returns the answer's body. Both the DRF view and the lean path call it."""
    body_hash = body_digest(request_body(http_request))
    tree = tree_of()  # parsed before anything else, so that a bad body is a 400 at once
    client = client_of(user)
    idempotency_key = idempotency_key_of(http_request)
    replay = sms_request_find_replay(client=client, idempotency_key=idempotency_key, body_hash=body_hash)
    if replay is not None:
        return contract_body(REQUEST_QUEUED, str(replay.request_id))
    try:
        given = http_request.GET.get("checkUserExistence")
        check_user_existence = parse_bool(given, "checkUserExistence", default=True)
    except _Invalid:
        check_user_existence = True
    # A partner targets its own segments and the shared ones, published; another partner's
    # segment is as missing (`invalid segment criteria`).
    owner = audience_owner_of_client(client)
    specs = normalise_send_request(
        tree,
        now=timezone.now(),
        existing_segment_ids=lambda ids: segment_ids_sendable(ids=ids, owner=owner),
        segment_sizes=lambda ids: segment_sizes(ids=ids),
    )
    api_key = user.api_key if isinstance(user, PartnerSystem) else None
    result = sms_request_submit(
        specs=specs,
        client=client,
        api_key=api_key,
        user=None if api_key else user,
        request_format=RequestFormat.XML if "xml" in http_request.META.get("CONTENT_TYPE", "") else RequestFormat.JSON,
        body_hash=body_hash,
        idempotency_key=idempotency_key,
        check_user_existence=check_user_existence,
    )
    return contract_body(REQUEST_QUEUED, str(result.request_id))


def _own_request(request, request_id: str, *, others_permission: str = selectors.VIEW_EVERY_REQUEST):
    """The caller's request, or another's when the caller has `others_permission`; else 404."""
    number = id_from_text(request_id)
    if number is None:
        raise Http404
    sms_request = selectors.sms_request_for_client(
        request_id=number, client=caller_client(request), others_permission=others_permission
    )
    if sms_request is None:
        raise Http404
    return sms_request


class SmsRequestDetailApi(APIView):
    """GET /api/v1/message/sms/{id}: one request's state."""

    access = {"GET": Access("status", ("messaging.view_smsrequest",))}

    def get(self, request, request_id):
        return Response(selectors.sms_request_summary(sms_request=_own_request(request, request_id)))


class SmsRequestCancelApi(APIView):
    """DELETE /api/v1/messages/sms/{id}: cancel what is not yet sent."""

    access = {"DELETE": Access("send", ("messaging.cancel_recipient",))}

    def delete(self, request, request_id):
        sms_request = _own_request(request, request_id, others_permission=selectors.CANCEL_EVERY_REQUEST)
        cancelled = cancel.sms_request_cancel(request_id=sms_request.id)
        return Response(
            contract_body(f"Cancelled {cancelled} message entries of the Message with ID : {sms_request.id}")
        )


def _is_api_path(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def api_not_found(request, exception=None):
    """handler404: an unknown URL under the API answers the contract body, not Django's HTML page."""
    if _is_api_path(request):
        return contract_response(request, 404, "Not found")
    return defaults.page_not_found(request, exception)


def api_server_error(request):
    """handler500: a failure outside DRF's own handling answers the contract body under the API;
    a store or broker that is down (seen in a middleware, say) is a 503 there too."""
    if _is_api_path(request):
        status_code, message, headers = translate_exception(sys.exc_info()[1])
        if status_code != 503:
            status_code, message, headers = 500, SERVER_FAILURE, {}
        return contract_response(request, status_code, message, headers)
    return defaults.server_error(request)
