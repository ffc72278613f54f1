"""Provider configuration, status and inbound SMS.

The providers' own callbacks (Twilio's and Vonage's webhooks) are in their kinds' folders,
messaging/providers/<kind>/callbacks.py, routed by their descriptors.
"""

import logging

from django.conf import settings
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.services import inbound, status
from messaging.services.providers import configuration

from .access import Access, GatewayAccess
from .authentication import caller_client
from .errors import ContractError, contract_body, invalid_format, refuse_unknown_keys

logger = logging.getLogger(__name__)

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
        sender_message_id = str(fields.get("senderMessageId") or "")  # cut to its column by the service
        inbound.inbound_sms_receive(
            phone=phone,
            text=str(text),
            sender_message_id=sender_message_id,
            sent_to=str(fields.get("smsSentTo") or ""),
        )
        return Response(contract_body("Inbound SMS received", sender_message_id))
