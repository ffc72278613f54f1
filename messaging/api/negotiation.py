"""The response takes the request's format, unless Accept asks for the other (CONTRACT section 2)."""

from rest_framework.negotiation import BaseContentNegotiation

from .renderers import SmsTextXMLRenderer


def wants_xml(content_type, accept):
    accept = (accept or "").lower()
    asks_json = "json" in accept
    asks_xml = "xml" in accept
    if asks_xml != asks_json:
        return asks_xml
    return "xml" in (content_type or "").lower()


def xml_media_type(content_type, accept):
    """text/xml or application/xml: the one Accept names, else the one the request came in."""
    accept = (accept or "").lower()
    named = [media_type for media_type in ("text/xml", "application/xml") if media_type in accept]
    if len(named) == 1 and "json" not in accept:
        return named[0]
    return "text/xml" if "text/xml" in (content_type or "").lower() else "application/xml"


class RequestFormatNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        content_type = (request.content_type or "").split(";", 1)[0].strip().lower()
        for parser in parsers:
            if parser.media_type == content_type:
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        content_type = request.META.get("CONTENT_TYPE")
        accept = request.META.get("HTTP_ACCEPT")
        xml = wants_xml(content_type, accept)
        for renderer in renderers:
            if (renderer.format == "xml") == xml:
                if xml and xml_media_type(content_type, accept) == "text/xml":
                    renderer = SmsTextXMLRenderer()
                return renderer, renderer.media_type
        return renderers[0], renderers[0].media_type
