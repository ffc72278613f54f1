"""Vonage's webhooks: delivery receipts and members' texts, each checked by Vonage's signed
webhooks against the signature secret of a Vonage provider, and refused when older than
VONAGE_SIGNATURE_AGE_SECONDS."""

import json
import time

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from vonage import Auth as VonageAuth

from messaging.backends import Receipt
from messaging.models import Provider
from messaging.providers.callbacks import signature_refused
from messaging.services import inbound, receipts

from .descriptor import NEXMO

VONAGE_DELIVERED = {"delivered"}
VONAGE_FAILED = {"failed", "rejected", "expired"}
VONAGE_SIGNATURE_AGE_SECONDS = 300


def _vonage_params(request) -> dict[str, str]:
    if request.method == "GET":
        return {key: request.GET.get(key) for key in request.GET}
    if (request.content_type or "").startswith("application/json"):
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
    for provider in Provider.objects.filter(kind=NEXMO.kind):
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
        return signature_refused()
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
        return signature_refused()
    inbound.inbound_from_provider(
        sender=params.get("msisdn") or "",
        text=params.get("text") or "",
        sender_message_id=params.get("messageId") or "",
        sent_to=params.get("to") or "",
        provider=provider.name,
    )
    return HttpResponse(status=204)
