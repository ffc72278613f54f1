"""The response takes the request's format, unless Accept asks for the other (CONTRACT section 2)."""

from rest_framework.negotiation import BaseContentNegotiation


def wants_xml(content_type, accept):
    accept = (accept or "").lower()
    asks_json = "json" in accept
    asks_xml = "xml" in accept
    if asks_xml != asks_json:
        return asks_xml
    return "xml" in (content_type or "").lower()


class RequestFormatNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        content_type = (request.content_type or "").split(";", 1)[0].strip().lower()
        for parser in parsers:
            if parser.media_type == content_type:
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        xml = wants_xml(request.META.get("CONTENT_TYPE"), request.META.get("HTTP_ACCEPT"))
        for renderer in renderers:
            if (renderer.format == "xml") == xml:
                media_type = renderer.media_type
                if xml and "text/xml" in (request.META.get("CONTENT_TYPE") or "").lower():
                    media_type = "text/xml"
                return renderer, media_type
        return renderers[0], renderers[0].media_type
