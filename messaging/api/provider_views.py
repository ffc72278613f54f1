"""Provider configuration, status, inbound SMS and the providers' own callbacks.

The callbacks take no API credentials: each is checked by its provider's own signature
(Twilio's X-Twilio-Signature, Vonage's signed webhooks), and a bad one is refused with 403.
"""

import logging
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from rest_framework.response import Response
from rest_framework.views import APIView
from twilio.request_validator import RequestValidator
from vonage import Auth as VonageAuth

from messaging.backends import Receipt
from messaging.models import Provider, ProviderKind
from messaging.services import inbound, receipts, status
from messaging.services.providers import configuration

from .access import Access, GatewayAccess
from .authentication import caller_client
from .errors import ContractError, contract_body, invalid_format, refuse_unknown_keys

logger = logging.getLogger(__name__)

TWILIO_DELIVERED = {"delivered", "read", "completed"}
TWILIO_FAILED = {"undelivered", "failed", "busy", "no-answer", "canceled"}
VONAGE_DELIVERED = {"delivered"}
VONAGE_FAILED = {"failed", "rejected", "expired"}
VONAGE_SIGNATURE_AGE_SECONDS = 300
INBOUND_KEYS = frozenset({"phoneNumber", "smsText", "senderMessageId", "smsSentTo"})


def _unwrap(tree):
    """The fields, whether sent flat or under one root element (as XML gives them)."""
    if isinstance(tree, dict) and len(tree) == 1:
        (only,) = tree.values()
        if isinstance(only, dict):
            return only
    return tree


def _fields(request) -> dict:
    fields = _unwrap(request.data if request.data is not None else {})
    if not isinstance(fields, dict):
        raise invalid_format(["the body must be an object of fields"])
    return fields


class SmsConfigApi(APIView):
    """GET/POST /api/v1/smsconfig (CONTRACT section 8)."""

    access = {
        "GET": Access("config", ("messaging.view_provider",)),
        "POST": Access("config", ("messaging.add_provider", "messaging.change_provider")),
    }

    def get(self, request):
        return Response({"providers": configuration.provider_config_list()})

    def post(self, request):
        try:
            provider = configuration.provider_config_save(payload=_unwrap(request.data))
        except configuration.ProviderConfigError as error:
            raise ContractError(str(error)) from None
        return Response(contract_body(configuration.DETAILS_UPDATED, str(provider.pk)))


def _query_fields(request) -> dict:
    """The query's fields; in XML an empty root element (`<smsStatusRequest/>`) is an empty query."""
    fields = _fields(request)
    if "xml" in (request.content_type or "") and len(fields) == 1 and next(iter(fields.values())) in ("", None):
        return {}
    return fields


def _refused_query(error: status.StatusQueryError) -> ContractError:
    return ContractError(error.documented) if error.documented else invalid_format(error.problems)


class SmsStatusApi(APIView):
    """POST /api/v1/status/sms: Volt MX "Fetch SMS Status" over the caller's own requests."""

    access = {"POST": Access("status", ("messaging.view_smsrequest",))}

    def post(self, request):
        try:
            query = status.status_query_parse(_query_fields(request))
        except status.StatusQueryError as error:
            raise _refused_query(error) from None
        return Response(status.sms_status_fetch(query=query, client=caller_client(request)))


class OpenFetchOrGatewayAccess(GatewayAccess):
    """GatewayAccess; with VOLTMX_OPEN_FETCH_APIS (unsafe, for legacy callers that cannot send
    credentials) anyone may call the route, as Volt MX serves Fetch All SMS and Get Full Content."""

    def has_permission(self, request, view):
        if settings.VOLTMX_OPEN_FETCH_APIS and hasattr(view, request.method.lower()):
            return True
        return super().has_permission(request, view)


def _fetch_client(request) -> str | None:
    """The caller's own requests; every request for an anonymous caller of the open mode."""
    return caller_client(request) if request.user is not None else None


class SmsFetchAllApi(APIView):
    """POST /api/v1/messages/sms/fetch: Volt MX "Fetch All SMS" by audience id or mobile number."""

    access = {"POST": Access("status", ("messaging.view_smsrequest",))}
    permission_classes = [OpenFetchOrGatewayAccess]

    def post(self, request):
        try:
            query = status.fetch_query_parse(_query_fields(request))
        except status.StatusQueryError as error:
            raise _refused_query(error) from None
        return Response(status.sms_fetch_all(query=query, client=_fetch_client(request)))


class SmsFullContentApi(APIView):
    """GET /api/v1/messages/sms/content/{sms_id}: Volt MX "Get Full Content", personalisation resolved."""

    access = {"GET": Access("status", ("messaging.view_smsrequest",))}
    permission_classes = [OpenFetchOrGatewayAccess]

    def get(self, request, sms_id):
        try:
            content = status.sms_full_content(sms_id=sms_id, client=_fetch_client(request))
        except status.StatusQueryError as error:
            raise _refused_query(error) from None
        return Response({"content": content})


class InboundSmsApi(APIView):
    """POST /api/v1/messages/sms/inbound/default: an SMS a member sent to the gateway."""

    access = {"POST": Access("twoway", ("messaging.add_inboundsms",))}

    def post(self, request):
        fields = _fields(request)
        refuse_unknown_keys(fields, INBOUND_KEYS)
        problems = []
        phone = inbound.phone_e164(str(fields.get("phoneNumber") or ""))
        if phone is None:
            problems.append("phoneNumber must be a phone number")
        text = fields.get("smsText")
        if text is None or isinstance(text, (dict, list)):
            problems.append("smsText is required")
        if problems:
            raise invalid_format(problems)
        sender_message_id = str(fields.get("senderMessageId") or "")[:100]
        inbound.inbound_sms_receive(
            phone=phone,
            text=str(text),
            sender_message_id=sender_message_id,
            sent_to=str(fields.get("smsSentTo") or ""),
        )
        return Response(contract_body("Inbound SMS received", sender_message_id))


# --- Twilio -------------------------------------------------------------------------------


def _callback_urls(request) -> list[str]:
    urls = [request.build_absolute_uri()]
    base = getattr(settings, "SMS_CALLBACK_BASE_URL", "").rstrip("/")
    if base:
        urls.append(base + request.get_full_path())
    return urls


def _twilio_provider(request) -> Provider | None:
    """The Twilio provider whose auth token signed this request, if any."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return None
    params = {key: request.POST.get(key) for key in request.POST}
    for provider in Provider.objects.filter(kind=ProviderKind.TWILIO):
        token = (provider.properties or {}).get("Auth Token") or ""
        if not token:
            continue
        validator = RequestValidator(token)
        if any(validator.validate(url, params, signature) for url in _callback_urls(request)):
            return provider
    return None


def _refused():
    return JsonResponse(contract_body("Signature check failed"), status=403)


@csrf_exempt
@require_http_methods(["POST"])
def twilio_status_callback(request):
    provider = _twilio_provider(request)
    if provider is None:
        return _refused()
    sid = request.POST.get("MessageSid") or request.POST.get("CallSid") or ""
    state = (request.POST.get("MessageStatus") or request.POST.get("CallStatus") or "").lower()
    if sid and state in TWILIO_DELIVERED | TWILIO_FAILED:
        receipts.receipts_record(
            receipts=[
                Receipt(
                    provider_message_id=sid,
                    delivered=state in TWILIO_DELIVERED,
                    status=state,
                    error_code=request.POST.get("ErrorCode") or "",
                    provider=provider.name,
                )
            ],
            provider=provider.name,
        )
    return HttpResponse(status=204)


@csrf_exempt
@require_http_methods(["POST"])
def twilio_inbound(request):
    provider = _twilio_provider(request)
    if provider is None:
        return _refused()
    inbound.inbound_from_provider(
        sender=request.POST.get("From", ""),
        text=request.POST.get("Body", ""),
        sender_message_id=request.POST.get("MessageSid", ""),
        sent_to=request.POST.get("To", ""),
        provider=provider.name,
    )
    return HttpResponse('<?xml version="1.0" encoding="UTF-8"?><Response/>', content_type="text/xml")


# --- Vonage -------------------------------------------------------------------------------


def _vonage_params(request) -> dict[str, str]:
    if request.method == "GET":
        return {key: request.GET.get(key) for key in request.GET}
    if (request.content_type or "").startswith("application/json"):
        import json

        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return {key: request.POST.get(key) for key in request.POST}


def _vonage_provider(params: dict[str, str]) -> Provider | None:
    """The Vonage provider whose signature secret signed these parameters, if any."""
    stamp = params.get("timestamp") or ""
    if not params.get("sig") or not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        return None
    if abs(time.time() - int(params["timestamp"])) > VONAGE_SIGNATURE_AGE_SECONDS:
        return None
    for provider in Provider.objects.filter(kind=ProviderKind.NEXMO):
        properties = provider.properties or {}
        secret = properties.get("Signature Secret") or ""
        if not secret:
            continue
        checker = VonageAuth(api_key=properties.get("API Key") or "key", signature_secret=secret)
        if checker.check_signature(dict(params)):
            return provider
    return None


@csrf_exempt
@require_http_methods(["GET", "POST"])
def vonage_status_callback(request):
    params = _vonage_params(request)
    provider = _vonage_provider(params)
    if provider is None:
        return _refused()
    message_id = params.get("messageId") or ""
    state = (params.get("status") or "").lower()
    if message_id and state in VONAGE_DELIVERED | VONAGE_FAILED:
        receipts.receipts_record(
            receipts=[
                Receipt(
                    provider_message_id=message_id,
                    delivered=state in VONAGE_DELIVERED,
                    status=state,
                    error_code=params.get("err-code") or "",
                    provider=provider.name,
                )
            ],
            provider=provider.name,
        )
    return HttpResponse(status=204)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def vonage_inbound(request):
    params = _vonage_params(request)
    provider = _vonage_provider(params)
    if provider is None:
        return _refused()
    inbound.inbound_from_provider(
        sender=params.get("msisdn") or "",
        text=params.get("text") or "",
        sender_message_id=params.get("messageId") or "",
        sent_to=params.get("to") or "",
        provider=provider.name,
    )
    return HttpResponse(status=204)
