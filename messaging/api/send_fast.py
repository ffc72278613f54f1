"""POST /api/v1/message/sms, the route partners call most, served without DRF's request layers.

A request a partner key sends as JSON, asking for a JSON answer, is answered here: the same key
check, scope, rate limit, parser, service (views.sms_send_accept) and error texts as the DRF view,
without DRF's request wrapping, content negotiation, authentication loop and response rendering,
which cost a fifth of the CPU of a one-recipient request. Every other request (no key or a key that
does not verify, a scope it lacks, XML, another media type or method, an empty body) is handed
to the DRF view before anything is counted, and answered there as before. tests/test_send_fast.py
posts the same requests to both and compares the answers.

SMS_SEND_FAST_PATH=false sends everything to the DRF view.
"""

from types import SimpleNamespace

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import Throttled

from messaging.services.api_keys import api_key_verify

from .access import caller_may, view_access
from .authentication import API_KEY_HEADERS, PartnerSystem
from .errors import error_answer
from .negotiation import wants_xml
from .parsers import LenientJSONParser
from .renderers import SmsJSONRenderer
from .throttling import ApiKeyRateThrottle
from .views import SmsSendApi, sms_send_accept

_drf_view = SmsSendApi.as_view()
_access = view_access(SmsSendApi, "POST")
_renderer = SmsJSONRenderer()
_parser = LenientJSONParser()
# What DRF's finalize_response adds to every answer of the view.
_DRF_HEADERS = {"Vary": "Accept", "Allow": ", ".join(SmsSendApi().allowed_methods)}


def _partner(request) -> PartnerSystem | None:
    """The partner whose key the request carries, when this path may answer it; else None."""
    if request.method != "POST" or not settings.SMS_SEND_FAST_PATH:
        return None
    content_type, accept = request.META.get("CONTENT_TYPE", ""), request.META.get("HTTP_ACCEPT")
    if content_type.split(";", 1)[0].strip().lower() != _parser.media_type or wants_xml(content_type, accept):
        return None
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) <= 0:
            return None  # DRF reads no body then, and hands the view an empty tree
    except ValueError:
        return None
    raw_key = next((request.META[h] for h in API_KEY_HEADERS if request.META.get(h)), None)
    if raw_key is None:
        return None
    api_key = api_key_verify(raw_key=raw_key.strip())
    if api_key is None:
        return None
    partner = PartnerSystem(api_key)
    return partner if caller_may(partner, _access) else None


def _answer(status_code: int, body: dict, headers: dict) -> HttpResponse:
    response = HttpResponse(_renderer.render(body), status=status_code, content_type=_renderer.media_type)
    for name, value in {**headers, **_DRF_HEADERS}.items():
        response[name] = value
    return response


@csrf_exempt
def sms_send(request, *args, **kwargs):
    try:
        partner = _partner(request)
    except Exception as exc:  # the store down, say: as DRF's authentication would meet it
        return _answer(*error_answer(exc))
    if partner is None:
        return _drf_view(request, *args, **kwargs)
    throttle = ApiKeyRateThrottle()
    try:
        if not throttle.allow_request(SimpleNamespace(user=partner), None):
            raise Throttled(throttle.wait())

        def tree():
            return _parser.parse(request, _parser.media_type, {"request": request})

        return _answer(200, sms_send_accept(request, user=partner, tree_of=tree), {})
    except Exception as exc:  # answered as DRF's exception handler answers it
        return _answer(*error_answer(exc))


# The route's view class, for the URL conf's readers (the access test, the OpenAPI schema).
for _name in ("cls", "initkwargs", "view_class", "view_initkwargs"):
    setattr(sms_send, _name, getattr(_drf_view, _name))
