"""Parsers that turn a JSON or XML body into one plain tree of dicts, lists and strings.

Both cap the bytes they read (Django's upload limit does not reach DRF parsers), answer an
unknown charset with a parse error, and keep every value as the client wrote it: typing is
the normaliser's work.
"""

import codecs
import json
import re
from xml.etree.ElementTree import ParseError as XMLSyntaxError
from xml.etree.ElementTree import TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from django.conf import settings
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from .errors import RequestTooLarge

# A string literal (kept as it is), or a comma that ends a value and that only closing brackets
# follow (dropped): `"a",}` and `1,]` lose their comma, `{,}` and `[,]` stay invalid.
_TRAILING_COMMA = re.compile(r'("(?:[^"\\]|\\.)*")|(?<=[\]}"\w.])(\s*),(\s*[}\]])')


def read_capped(stream, limit=None):
    limit = settings.SMS_MAX_BODY_BYTES if limit is None else limit
    if stream is None:
        return b""
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise RequestTooLarge(limit)
    return body


def declared_charset(parser_context):
    request = (parser_context or {}).get("request")
    content_type = request.META.get("CONTENT_TYPE", "") if request is not None else ""
    _, params = parse_header_parameters(content_type)
    charset = params.get("charset")
    if charset is None:
        return None
    try:
        return codecs.lookup(charset).name
    except LookupError:
        raise ParseError(f"unknown charset {charset[:40]!r}") from None


def decode_body(body, charset):
    try:
        return body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise ParseError("body does not match its charset") from None


def strip_trailing_commas(text):
    return _TRAILING_COMMA.sub(lambda m: m.group(1) or m.group(2) + m.group(3), text)


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse_json_text(text):
    """Strict JSON, but for the trailing commas of the published samples."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError:
        pass
    except (ValueError, RecursionError):
        raise ParseError("not JSON") from None
    try:
        return json.loads(strip_trailing_commas(text), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ParseError("not JSON") from None


class LenientJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_capped(stream)
        charset = declared_charset(parser_context)
        if charset is None:
            try:
                text = body.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ParseError("body is not UTF-8") from None
        else:
            text = decode_body(body, charset)
        return parse_json_text(text)


class _DepthLimitedBuilder:
    """A TreeBuilder target that refuses nesting deeper than a bound, while parsing."""

    def __init__(self, max_depth):
        self._builder = TreeBuilder()
        self._depth = 0
        self._max_depth = max_depth

    def start(self, tag, attrs):
        self._depth += 1
        if self._depth > self._max_depth:
            raise ParseError("XML nested too deeply")
        return self._builder.start(tag, attrs)

    def end(self, tag):
        self._depth -= 1
        return self._builder.end(tag)

    def data(self, data):
        return self._builder.data(data)

    def close(self):
        return self._builder.close()


def _local_name(tag):
    return tag.rsplit("}", 1)[-1]


def element_to_tree(element):
    """Attributes and child elements alike become keys; repeated elements become lists."""
    children = list(element)
    if not children and not element.attrib:
        return element.text or ""  # a leaf keeps its text as written, spaces and all
    text = (element.text or "").strip()
    node = {}
    repeated = set()
    for name, value in element.attrib.items():
        node[_local_name(name)] = value
    for child in children:
        name = _local_name(child.tag)
        value = element_to_tree(child)
        if name not in node:
            node[name] = value
        elif name in repeated:
            node[name].append(value)
        else:
            node[name] = [node[name], value]
            repeated.add(name)
    if text:
        node["#text"] = text
    return node


def parse_xml_bytes(body, charset=None, max_depth=None):
    max_depth = settings.SMS_MAX_XML_DEPTH if max_depth is None else max_depth
    parser = DefusedXMLParser(
        target=_DepthLimitedBuilder(max_depth), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(decode_body(body, charset) if charset else body)
        root = parser.close()
    except (DefusedXmlException, XMLSyntaxError, ValueError, LookupError) as exc:
        raise ParseError(f"not well-formed XML: {type(exc).__name__}") from None
    return {_local_name(root.tag): element_to_tree(root)}


class SafeXMLParser(BaseParser):
    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_capped(stream)
        return parse_xml_bytes(body, declared_charset(parser_context))


class TextXMLParser(SafeXMLParser):
    media_type = "text/xml"
