"""A 413 before anything reads a body that declares itself larger than the limit."""

import json

from django.conf import settings
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
        body = json.dumps(contract_body(message)).encode()
        content_type = "application/json"
    response = HttpResponse(body, status=status_code, content_type=content_type)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(("/api/", "/vpns/", "/kpns/")):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return contract_response(request, 400, "Invalid Content-Length")
            limit = settings.SMS_MAX_BODY_BYTES
            if length > limit:
                return contract_response(request, 413, f"Request body larger than {limit} bytes")
        return self.get_response(request)
