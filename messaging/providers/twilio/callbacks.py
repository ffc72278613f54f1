"""Twilio's webhooks: message and call statuses (receipts) and members' texts, each checked by
X-Twilio-Signature against the auth token of a Twilio provider."""

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from twilio.request_validator import RequestValidator

from messaging.backends import Receipt
from messaging.models import Provider
from messaging.providers.callbacks import signature_refused
from messaging.services import inbound, receipts

from .descriptor import TWILIO

TWILIO_DELIVERED = {"delivered", "read", "completed"}
TWILIO_FAILED = {"undelivered", "failed", "busy", "no-answer", "canceled"}


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
    for provider in Provider.objects.filter(kind=TWILIO.kind):
        token = (provider.properties or {}).get("Auth Token") or ""
        if not token:
            continue
        validator = RequestValidator(token)
        if any(validator.validate(url, params, signature) for url in _callback_urls(request)):
            return provider
    return None


@csrf_exempt
@require_http_methods(["POST"])
def twilio_status_callback(request):
    provider = _twilio_provider(request)
    if provider is None:
        return signature_refused()
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
        return signature_refused()
    inbound.inbound_from_provider(
        sender=request.POST.get("From", ""),
        text=request.POST.get("Body", ""),
        sender_message_id=request.POST.get("MessageSid", ""),
        sent_to=request.POST.get("To", ""),
        provider=provider.name,
    )
    return HttpResponse('<?xml version="1.0" encoding="UTF-8"?><Response/>', content_type="text/xml")
