"""A request id for every HTTP request (taken from X-Request-ID when sane), kept for the log
lines and echoed in the response; the send API's outcomes counted for /metrics."""

import re
import uuid

from smsgateway.logging import request_id_var

from .metrics import api_request_observe

SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SEND_PATHS = ("/api/v1/message/sms", "/vpns/api/v1/message/sms", "/kpns/api/v1/message/sms")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if SANE_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        # Left set until the response is finished (ops.apps resets it), so that Django's own
        # line about a 4xx or 5xx, written after the middleware returns, carries it too.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        if request.method == "POST" and request.path.rstrip("/") in SEND_PATHS:
            api_request_observe(status_code=response.status_code)
        return response
