"""The OpenAPI 3 description of the API, served at /api/schema/ with a Swagger UI.

The API's views take and give the CONTRACT's trees rather than serializers, so the schema of each
operation is written here: the views are described by extensions and hooks, never edited. An
operation that this module does not know yet still gets a generic description (an object in, an
object out, the CONTRACT's error body for every error), so that a new endpoint is in the schema
from the day it is routed.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.negotiation import DefaultContentNegotiation

from messaging.providers.registry import PROVIDER_KINDS

API_PREFIX = "/api/v1/"
JSON = "application/json"
XML_TYPES = ("application/xml", "text/xml")
ERROR_STATUSES = ("400", "401", "403", "404", "405", "409", "413", "415", "429", "500", "503")


class SchemaApi(SpectacularAPIView):
    """The schema as YAML, or JSON by `?format=json` or Accept: the API's own negotiation speaks only
    the CONTRACT's JSON and XML."""

    content_negotiation_class = DefaultContentNegotiation


class SchemaSwaggerApi(SpectacularSwaggerSplitView):
    """Swagger UI from the project's static files, its start-up script fetched from `?script` and its
    page without inline style: nothing the Content-Security-Policy refuses."""

    content_negotiation_class = DefaultContentNegotiation
    template_name = "schema/swagger_ui.html"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "messaging.api.authentication.ApiKeyAuthentication"
    name = "partnerApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-VoltMX-App-API-Key"}


class GatewayBasicScheme(OpenApiAuthenticationExtension):
    target_class = "messaging.api.authentication.GatewayBasicAuthentication"
    name = "gatewayBasic"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}


class AccessTokenScheme(OpenApiAuthenticationExtension):
    """The Volt MX access token: both headers together."""

    target_class = "messaging.api.authentication.AccessTokenAuthentication"
    name = ["accessToken", "accessSecret"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "AccessToken"},
            {"type": "apiKey", "in": "header", "name": "AccessSecret"},
        ]


ACCESS_TOKEN_PAIR = ("accessToken", "accessSecret")


def _one_or_many(schema):
    return {"oneOf": [schema, {"type": "array", "items": schema}]}


_FLAG = {"oneOf": [{"type": "boolean"}, {"type": "string", "example": "true"}]}
_TIME = {
    "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "example": "0"}],
    "description": '"0" or absent: now (start) or never (expiry); else epoch milliseconds or ISO-8601.',
}
RECIPIENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "An audience member id."},
        "mobile": {"type": "string", "description": "E.164, with the leading +.", "example": "+14155550100"},
    },
}
SEGMENT = {
    "type": "object",
    "properties": {"criteria": {"type": "string", "example": "##1## AND NOT ##2##"}},
    "required": ["criteria"],
}
MESSAGE = {
    "type": "object",
    "properties": {
        "startTimestamp": _TIME,
        "expiryTimestamp": _TIME,
        "priorityService": _FLAG,
        "recipients": {
            "type": "object",
            "description": "Either `recipient` or `segment`, not both.",
            "properties": {"recipient": _one_or_many(RECIPIENT), "segment": _one_or_many(SEGMENT)},
        },
        "content": {"type": "string", "description": "The text; may hold [[firstName]] and other tags."},
        "channel": {"type": "string", "example": "text", "description": "text, textsms, sms, voice or voicesms."},
        "sendVoiceSmsOnFailure": _FLAG,
    },
    "required": ["priorityService", "recipients", "content"],
}
SEND_REQUEST = {
    "type": "object",
    "properties": {
        "smsServiceRequest": {
            "type": "object",
            "properties": {
                "messages": {
                    "type": "object",
                    "properties": {"message": _one_or_many(MESSAGE), "channel": {"type": "string"}},
                    "required": ["message"],
                }
            },
            "required": ["messages"],
        }
    },
    "required": ["smsServiceRequest"],
    "xml": {"name": "smsServiceRequest"},
}
STATUS_REQUEST = {
    "type": "object",
    "description": "Every key optional; any other key is a 400. `startElement` is 0-based.",
    "properties": {
        "requestId": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "audienceId": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "mobileNumber": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "sentDate": {"type": "string", "description": "mm/dd/yyyy"},
        "endDate": {"type": "string", "description": "mm/dd/yyyy"},
        "startElement": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        "elementsPerPage": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
    },
    "additionalProperties": False,
}
_ID_OR_NUMBER = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
STATUS_COUNTERS = ("submitted", "initial", "rejected", "opened", "not attempted", "undelivered", "cancelled")
STATUS_RESPONSE = {
    "type": "object",
    "properties": {
        **{name: {"type": "integer"} for name in STATUS_COUNTERS + ("delivered", "expired", "total")},
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "sentDate": {"type": "string", "description": "Epoch milliseconds."},
                    "smsId": {"type": "string"},
                    "lastActivityDate": {"type": "string", "description": "Epoch milliseconds."},
                    "mobileNumber": {"type": "string"},
                    "requestId": {"type": "string"},
                    "audienceId": {"type": "string"},
                    "statusMessage": {"type": "string", "example": "SMS request sent to TWILIO Gateway"},
                    "status": {"type": "string", "example": "Submitted"},
                },
                "required": [
                    "sentDate",
                    "smsId",
                    "lastActivityDate",
                    "mobileNumber",
                    "requestId",
                    "audienceId",
                    "statusMessage",
                    "status",
                ],
            },
        },
    },
    "required": [*STATUS_COUNTERS, "total", "messages"],
}
FETCH_REQUEST = {
    "type": "object",
    "description": "`audienceId` or `mobileNo`; paging from a 0-based `startElement`.",
    "properties": {
        "audienceId": _ID_OR_NUMBER,
        "mobileNo": _ID_OR_NUMBER,
        "startElement": _ID_OR_NUMBER,
        "elementsPerPage": _ID_OR_NUMBER,
    },
    "additionalProperties": False,
}
FETCH_RESPONSE = {
    "type": "object",
    "properties": {
        "totalMessages": {"type": "integer"},
        "openedMessages": {"type": "integer"},
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "fetchId": {"type": "string"},
                    "content": {"type": "string", "description": "The text as sent, personalisation resolved."},
                    "status": {"type": "string", "example": "Submitted"},
                },
                "required": ["fetchId", "content", "status"],
            },
        },
        "submittedMessages": {"type": "integer"},
    },
    "required": ["totalMessages", "openedMessages", "messages", "submittedMessages"],
}
CONTENT_RESPONSE = {
    "type": "object",
    "properties": {"content": {"type": "string", "description": "The text as sent, personalisation resolved."}},
    "required": ["content"],
}
ACCESS_TOKEN_RESPONSE = {
    "type": "object",
    "properties": {"AccessToken": {"type": "string"}, "AccessSecret": {"type": "string"}},
    "required": ["AccessToken", "AccessSecret"],
}
INBOUND_REQUEST = {
    "type": "object",
    "properties": {
        "phoneNumber": {"type": "string"},
        "smsText": {"type": "string"},
        "senderMessageId": {"type": "string"},
        "smsSentTo": {"type": "string"},
    },
}
PROVIDER_REQUEST = {
    "type": "object",
    "properties": {
        "provider": {"type": "string", "enum": list(PROVIDER_KINDS)},
        "name": {"type": "string"},
        "enabled": {"type": "string"},
        "order": {"type": "string"},
        "properties": {
            "type": "array",
            "items": {"type": "object", "properties": {"key": {"type": "string"}, "value": {"type": "string"}}},
        },
    },
}
CONTRACT_BODY_REF = {"$ref": "#/components/schemas/ContractBody"}
SEGMENT_CONDITION = {
    "type": "object",
    "properties": {
        "attributeName": {"type": "string", "example": "state"},
        "attributeValue": {"type": "string", "example": "CA"},
        "attributeOperator": {
            "type": "string",
            "example": "Equal",
            "description": "Equal, NotEqual, Contains, GreaterThan, LessThan, "
            "Greater/LessThanCurrentDateMinus/Plus (a day count).",
        },
        "conditionNo": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "example": "1"}]},
    },
    "required": ["attributeName", "attributeValue", "attributeOperator", "conditionNo"],
    "additionalProperties": False,
}
SEGMENT_REQUEST = {
    "type": "object",
    "description": "voltmx-family.md section 1; a key not listed is a 400 that names it.",
    "properties": {
        "name": {"type": "string", "example": "California"},
        "owner": {"type": "string", "example": "admin"},
        "conditionType": {"type": "string", "enum": ["all", "any", "advanced"]},
        "createdDateStr": {"type": "string"},
        "segmentDefinition": {"type": "string", "example": "1 OR (2 AND NOT 3)"},
        "segmentAudienceList": {"type": "array", "items": SEGMENT_CONDITION, "minItems": 1},
    },
    "required": ["name", "conditionType", "segmentAudienceList"],
    "additionalProperties": False,
}
SEGMENT_OBJECT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "owner": {"type": "string"},
        "segmentDefinition": {"type": "string"},
        "conditionType": {"type": "string"},
        "published": {"type": "boolean"},
        "lastModifiedBy": {"type": "string"},
        "lastModifiedDateStr": {"type": "string", "example": "06/21/2016 03:25:01 PM UTC"},
        "createdBy": {"type": "string"},
        "createdDateStr": {"type": "string"},
        "segmentAudienceList": {"type": "array", "items": SEGMENT_CONDITION},
    },
}
CONTRACT_BODY = {
    "type": "object",
    "description": "CONTRACT section 5: the request id on acceptance (else empty) and the text of the outcome.",
    "properties": {"id": {"type": "string"}, "message": {"type": "string"}},
    "required": ["id", "message"],
}
ANY_OBJECT = {"type": "object", "additionalProperties": True}
XML_TEXT = {"type": "string", "description": "The same tree as XML, under its root element."}

# (path under /api/v1/, method) -> (summary, request schema or None, 200 schema)
OPERATIONS = {
    ("message/sms", "post"): (
        "Accept a send request (JSON or XML), store it whole and queue it",
        SEND_REQUEST,
        CONTRACT_BODY_REF,
    ),
    ("message/sms/{request_id}", "get"): ("One request's state: counts per state and per message", None, ANY_OBJECT),
    ("messages/sms/{request_id}", "delete"): (
        "Cancel what of a request is not yet sent",
        None,
        CONTRACT_BODY_REF,
    ),
    ("status/sms", "post"): (
        "Fetch SMS Status: counters and messages, filtered and paged",
        STATUS_REQUEST,
        STATUS_RESPONSE,
    ),
    ("messages/sms/fetch", "post"): (
        "Fetch All SMS of one audience member or mobile number, texts resolved",
        FETCH_REQUEST,
        FETCH_RESPONSE,
    ),
    ("messages/sms/content/{sms_id}", "get"): (
        "Get Full Content: one message's text as sent, personalisation resolved",
        None,
        CONTENT_RESPONSE,
    ),
    ("oauth/accesstoken", "get"): (
        "An access token and secret for the AccessToken and AccessSecret headers (Basic only)",
        None,
        ACCESS_TOKEN_RESPONSE,
    ),
    ("messages/sms/inbound/default", "post"): (
        "An inbound SMS: STOP or START change the member's subscription",
        INBOUND_REQUEST,
        ANY_OBJECT,
    ),
    ("smsconfig", "get"): (
        "The providers, with their secrets masked",
        None,
        {"oneOf": [ANY_OBJECT, {"type": "array"}]},
    ),
    ("smsconfig", "post"): ("Create or update a provider by name", PROVIDER_REQUEST, CONTRACT_BODY_REF),
    ("segments", "get"): (
        "Segments, paged by start (0-based) and pageSize",
        None,
        {"type": "object", "properties": {"total": {"type": "integer"}, "segments": {"type": "array"}}},
    ),
    ("segments", "post"): ("Create a segment (unpublished)", SEGMENT_REQUEST, CONTRACT_BODY_REF),
    ("segments/{segment_id}", "get"): ("One segment", None, SEGMENT_OBJECT),
    ("segments/{segment_id}", "put"): ("Modify a segment", SEGMENT_REQUEST, CONTRACT_BODY_REF),
    ("segments/{segment_id}", "delete"): ("Delete a segment", None, CONTRACT_BODY_REF),
    ("segments/{segment_id}/modify", "post"): ("Modify a segment", SEGMENT_REQUEST, CONTRACT_BODY_REF),
    ("segments/{segment_id}/delete", "post"): ("Delete a segment", None, CONTRACT_BODY_REF),
    ("segments/{segment_id}/publish", "post"): ("Publish a segment: it may be sent to", None, CONTRACT_BODY_REF),
    ("segments/{segment_id}/unpublish", "post"): ("Unpublish a segment", None, CONTRACT_BODY_REF),
    ("segments/{segment_id}/validate", "get"): (
        "Whether a segment evaluates, and how many members it holds",
        None,
        CONTRACT_BODY_REF,
    ),
}

_described: set[type] = set()


def _describe_view(view_class: type) -> None:
    """Register an extension that gives a serializer-less view a generic in/out, once per class."""
    if view_class in _described or getattr(view_class, "serializer_class", None) is not None:
        return
    _described.add(view_class)

    def view_replacement(self):
        @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
        class Described(self.target_class):
            pass

        Described.__name__ = self.target_class.__name__
        Described.__qualname__ = self.target_class.__qualname__
        return Described

    type(
        f"{view_class.__name__}SchemaExtension",
        (OpenApiViewExtension,),
        {"target_class": view_class, "view_replacement": view_replacement, "__module__": __name__},
    )


def preprocess(endpoints, **kwargs):
    """Only the canonical /api/ paths: /vpns and /kpns answer the same and are said once, in the description."""
    kept = []
    for path, path_regex, method, callback in endpoints:
        if not path.startswith("/api/") or path.startswith("/api/schema"):
            continue
        view_class = getattr(callback, "cls", None)
        if view_class is not None:
            _describe_view(view_class)
        kept.append((path, path_regex, method, callback))
    return kept


def _media(schema, *, xml):
    content = {JSON: {"schema": schema}}
    if xml:
        for media_type in XML_TYPES:
            content[media_type] = {"schema": XML_TEXT if schema is not CONTRACT_BODY_REF else schema}
    return content


def postprocess(result, generator, request, public):
    """Write each operation's request and responses as the CONTRACT gives them."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["ContractBody"] = CONTRACT_BODY
    schemes = components.setdefault("securitySchemes", {})
    security = [{name: []} for name in schemes if name not in ACCESS_TOKEN_PAIR]
    if all(name in schemes for name in ACCESS_TOKEN_PAIR):
        security.append({name: [] for name in ACCESS_TOKEN_PAIR})
    result["info"]["description"] = (
        result["info"].get("description", "") + " Every path also answers under /vpns and /kpns."
    ).strip()
    for path, operations in result.get("paths", {}).items():
        key_path = path.removeprefix(API_PREFIX)
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            summary, request_schema, ok_schema = OPERATIONS.get(
                (key_path, method), (None, ANY_OBJECT if method in ("post", "put", "patch") else None, ANY_OBJECT)
            )
            if summary:
                operation["summary"] = summary
            xml = (key_path, method) == ("message/sms", "post")
            if request_schema is None:
                operation.pop("requestBody", None)
            else:
                operation["requestBody"] = {"required": True, "content": _media(request_schema, xml=xml)}
                if xml:
                    for media_type in XML_TYPES:
                        operation["requestBody"]["content"][media_type] = {"schema": SEND_REQUEST}
            responses = {"200": {"description": "Done", "content": _media(ok_schema, xml=xml)}}
            if method == "post" and key_path not in ("message/sms", "status/sms", "messages/sms/fetch", "smsconfig"):
                responses["201"] = {"description": "Created", "content": _media(ANY_OBJECT, xml=False)}
            if method == "delete" and key_path != "messages/sms/{request_id}":
                responses["204"] = {"description": "Deleted"}
            for status in ERROR_STATUSES:
                responses[status] = {
                    "description": "The CONTRACT's error body",
                    "content": _media(CONTRACT_BODY_REF, xml=True),
                }
            operation["responses"] = responses
            if key_path == "oauth/accesstoken":
                operation["security"] = [{"gatewayBasic": []}]
            elif security:
                operation["security"] = security
    return result
