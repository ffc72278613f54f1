"""POST /api/v1/message/sms, the route partners call most, served without DRF's request layers.

A request a partner key sends as JSON or XML is answered here: the same key check, scope, rate
limit, parsers, renderers, service (views.sms_send_accept) and error texts as the DRF view, without
DRF's request wrapping, content negotiation, authentication loop and response rendering, which cost
a fifth of the CPU of a one-recipient request. Every other request (no key or a key that does not
verify, a scope it lacks, another media type or method, an empty body) is handed to the DRF view
before anything is counted, and answered there as before. tests/test_send_fast.py
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
from .negotiation import wants_xml, xml_media_type
from .parsers import LenientJSONParser, SafeXMLParser, TextXMLParser
from .renderers import SmsJSONRenderer, SmsTextXMLRenderer, SmsXMLRenderer
from .throttling import ApiKeyRateThrottle
from .views import SmsSendApi, sms_send_accept

_drf_view = SmsSendApi.as_view()
_access = view_access(SmsSendApi, "POST")
# The parsers of DEFAULT_PARSER_CLASSES, by the media type each takes (as RequestFormatNegotiation picks).
_parsers = {parser.media_type: parser for parser in (LenientJSONParser(), SafeXMLParser(), TextXMLParser())}
# What DRF's finalize_response adds to every answer of the view.
_DRF_HEADERS = {"Vary": "Accept", "Allow": ", ".join(SmsSendApi().allowed_methods)}


def _partner(request) -> PartnerSystem | None:
    """The partner whose key the request carries, when this path may answer it; else None."""
    if request.method != "POST" or not settings.SMS_SEND_FAST_PATH:
        return None
    if request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower() not in _parsers:
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


def _renderer_of(request):
    """The renderer RequestFormatNegotiation picks: the request's format unless Accept asks for
    the other; text/xml or application/xml as named."""
    content_type, accept = request.META.get("CONTENT_TYPE"), request.META.get("HTTP_ACCEPT")
    if not wants_xml(content_type, accept):
        return _JSON
    return _TEXT_XML if xml_media_type(content_type, accept) == "text/xml" else _XML


_JSON, _XML, _TEXT_XML = SmsJSONRenderer(), SmsXMLRenderer(), SmsTextXMLRenderer()


def _answer(request, status_code: int, body: dict, headers: dict) -> HttpResponse:
    renderer = _renderer_of(request)
    response = HttpResponse(status=status_code)
    response.content = renderer.render(body, renderer.media_type, {"response": response})
    response["Content-Type"] = (
        f"{renderer.media_type}; charset={renderer.charset}" if renderer.charset else renderer.media_type
    )
    for name, value in {**headers, **_DRF_HEADERS}.items():
        response[name] = value
    return response


@csrf_exempt
def sms_send(request, *args, **kwargs):
    try:
        partner = _partner(request)
    except Exception as exc:  # the store down, say: as DRF's authentication would meet it
        return _answer(request, *error_answer(exc))
    if partner is None:
        return _drf_view(request, *args, **kwargs)
    throttle = ApiKeyRateThrottle()
    try:
        if not throttle.allow_request(SimpleNamespace(user=partner), None):
            raise Throttled(throttle.wait())
        parser = _parsers[request.META["CONTENT_TYPE"].split(";", 1)[0].strip().lower()]

        def tree():
            return parser.parse(request, parser.media_type, {"request": request})

        return _answer(request, 200, sms_send_accept(request, user=partner, tree_of=tree), {})
    except Exception as exc:  # answered as DRF's exception handler answers it
        return _answer(request, *error_answer(exc))


# The route's view class, for the URL conf's readers (the access test, the OpenAPI schema).
for _name in ("cls", "initkwargs", "view_class", "view_initkwargs"):
    setattr(sms_send, _name, getattr(_drf_view, _name))
