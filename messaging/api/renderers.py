"""JSON and XML renderers. The XML root is `smsResponse`, as Volt MX answers."""

from io import StringIO
from xml.sax.saxutils import XMLGenerator

from rest_framework.renderers import BaseRenderer, JSONRenderer


class SmsJSONRenderer(JSONRenderer):
    media_type = "application/json"
    format = "json"


def _is_contract_body(data):
    return isinstance(data, dict) and set(data) == {"id", "message"}


class SmsXMLRenderer(BaseRenderer):
    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"
    root_tag = "smsResponse"
    item_tag = "item"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        response = (renderer_context or {}).get("response")
        stream = StringIO()
        xml = XMLGenerator(stream, self.charset)
        xml.startDocument()
        xml.startElement(self.root_tag, {})
        if _is_contract_body(data):
            code = response.status_code if response is not None else 200
            self._element(xml, "code", str(code))
            self._element(xml, "description", data["message"])
            if data["id"]:
                self._element(xml, "id", data["id"])
        else:
            self._write(xml, data)
        xml.endElement(self.root_tag)
        xml.endDocument()
        return stream.getvalue().encode(self.charset)

    def _element(self, xml, tag, value):
        xml.startElement(tag, {})
        self._write(xml, value)
        xml.endElement(tag)

    def _write(self, xml, data):
        if isinstance(data, dict):
            for key, value in data.items():
                tag = str(key).replace(" ", "_") or self.item_tag
                if isinstance(value, (list, tuple)):
                    for item in value:
                        self._element(xml, tag, item)
                else:
                    self._element(xml, tag, value)
        elif isinstance(data, (list, tuple)):
            for item in data:
                self._element(xml, self.item_tag, item)
        elif data is None:
            pass
        elif isinstance(data, bool):
            xml.characters("true" if data else "false")
        else:
            xml.characters(str(data))


class SmsTextXMLRenderer(SmsXMLRenderer):
    media_type = "text/xml"
