"""What bench_api measures the send API beside, served by the same gunicorn command and settings:

- /bare: a bare DRF endpoint, the send API's parsers and middleware, no authentication, no throttle,
  no database; it parses the body and answers a constant.
- /key-insert: DRF with the gateway's API key authentication (the key lookup query) and one INSERT
  of a request row, in autocommit.
- /floor: the durable floor, a plain Django view (no DRF, raw SQL) that parses the same JSON body and
  stores a request, a message and a recipient row in one statement.
"""

import hashlib
import json

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.api.authentication import ApiKeyAuthentication
from messaging.ids import next_request_id

QUEUED = {"id": "0", "message": "Request Queued. "}

REQUEST_INSERT = """
INSERT INTO messaging_smsrequest (id, format, body_hash, idempotency_key, client, check_user_existence, created_at)
VALUES (%s, 'json', %s, NULL, %s, false, now())
"""

FLOOR_INSERT = """
WITH r AS (
    INSERT INTO messaging_smsrequest (id, format, body_hash, idempotency_key, client, check_user_existence, created_at)
    VALUES (%(id)s, 'json', %(hash)s, NULL, 'bench:floor', false, now())
    RETURNING id
), m AS (
    INSERT INTO messaging_smsmessage (request_id, position, content, channel, priority, start_at, expires_at,
        voice_on_failure, encoding, parts, personalised, criteria, expected_total, expanded_count,
        expansion_done, expansion_cursor, created_at, expansion_attempts, expansion_error)
    SELECT r.id, 1, %(content)s, 'text', false, now(), NULL, false, 'gsm7', 1, false, '[]', NULL, 0,
        true, 0, now(), 0, ''
    FROM r
    RETURNING id
)
INSERT INTO messaging_recipient (message_id, phone, content, channel, state, priority, due_at, attempts,
    outcome_unknown, provider, provider_message_id, provider_ref, error_code, error, created_at, updated_at)
SELECT m.id, %(phone)s, '', 'text', 'initial', false, now(), 0, false, '', '', '', '', '', now(), now()
FROM m
"""


class BareParseApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def post(self, request):
        if not isinstance(request.data, dict):
            return Response({"id": "", "message": "Failed to parse the input request"}, status=400)
        return Response(QUEUED)


class KeyInsertApi(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = []

    def post(self, request):
        body_hash = hashlib.sha256(request._request.body).hexdigest()  # read once, as the send API does
        if not isinstance(request.data, dict):
            return Response({"id": "", "message": "Failed to parse the input request"}, status=400)
        request_id = next_request_id()
        with connection.cursor() as cursor:
            cursor.execute(REQUEST_INSERT, [request_id, body_hash, f"key:{request.user.api_key.pk}"])
        return Response({**QUEUED, "id": str(request_id)})


@csrf_exempt
def floor(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    body = request.body
    try:
        message = json.loads(body)["smsServiceRequest"]["messages"]["message"]
        recipient = message["recipients"]["recipient"]
        if isinstance(recipient, list):
            recipient = recipient[0]
        phone, content = recipient["mobile"], message["content"]
    except (ValueError, KeyError, TypeError, IndexError):
        return JsonResponse({"id": "", "message": "Failed to parse the input request"}, status=400)
    request_id = next_request_id()
    params = {"id": request_id, "hash": hashlib.sha256(body).hexdigest(), "content": content, "phone": phone}
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_INSERT, params)
    return JsonResponse({**QUEUED, "id": str(request_id)})


urlpatterns = [
    path("bare", BareParseApi.as_view()),
    path("key-insert", KeyInsertApi.as_view()),
    path("floor", floor),
]
