"""A 413 before anything reads a body larger than the limit, whether it declares its length or
arrives chunked (which Django's WSGI request would otherwise read as empty)."""

import io
import json

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpResponse

from .errors import contract_body
from .negotiation import wants_xml, xml_media_type
from .renderers import SmsXMLRenderer


def contract_response(request, status_code, message, headers=None):
    request_type, accept = request.META.get("CONTENT_TYPE"), request.META.get("HTTP_ACCEPT")
    if wants_xml(request_type, accept):
        body = SmsXMLRenderer().render(
            contract_body(message), renderer_context={"response": HttpResponse(status=status_code)}
        )
        content_type = f"{xml_media_type(request_type, accept)}; charset=utf-8"
    else:
        body = json.dumps(contract_body(message), separators=(",", ":")).encode()
        content_type = "application/json"
    response = HttpResponse(body, status=status_code, content_type=content_type)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


API_PREFIXES = ("/api/", "/vpns/", "/kpns/")


def _is_unsized_stream(request):
    """A chunked body that the server has already de-chunked and terminated (gunicorn does)."""
    return (
        not request.META.get("CONTENT_LENGTH")
        and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        and bool(request.META.get("wsgi.input_terminated"))
        and request.META.get("wsgi.input") is not None
    )


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIXES):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0:
                return contract_response(request, 400, "Invalid Content-Length")
            limit = settings.SMS_MAX_BODY_BYTES
            if length > limit:
                return contract_response(request, 413, f"Request body larger than {limit} bytes")
            if _is_unsized_stream(request):
                body = request.META["wsgi.input"].read(limit + 1)
                if len(body) > limit:
                    return contract_response(request, 413, f"Request body larger than {limit} bytes")
                request.META["CONTENT_LENGTH"] = str(len(body))
                request._stream = LimitedStream(io.BytesIO(body), len(body))
        return self.get_response(request)
