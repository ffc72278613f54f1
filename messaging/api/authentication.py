"""CONTRACT section 7: HTTP Basic for gateway users, API keys for partner systems, and the Volt MX
access tokens (AccessToken and AccessSecret headers) that act as the gateway user they were issued to."""

from rest_framework.authentication import BaseAuthentication, BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed

from messaging.services.access_tokens import access_token_verify
from messaging.services.api_keys import api_key_verify

API_KEY_HEADERS = ("HTTP_X_VOLTMX_APP_API_KEY", "HTTP_X_KONY_APP_API_KEY")


class PartnerSystem:
    """The authenticated caller when a partner system presents an API key."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, api_key):
        self.api_key = api_key
        self.pk = None

    def __str__(self):
        return f"api key {self.api_key.name}"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw_key = next((request.META[h] for h in API_KEY_HEADERS if request.META.get(h)), None)
        if raw_key is None:
            return None
        api_key = api_key_verify(raw_key=raw_key.strip())
        if api_key is None:
            raise AuthenticationFailed()
        return PartnerSystem(api_key), api_key

    def authenticate_header(self, request):
        return 'Basic realm="smsgateway"'


class AccessTokenAuthentication(BaseAuthentication):
    """The `AccessToken` and `AccessSecret` headers of GET /api/v1/oauth/accesstoken: the caller is
    the user the token was issued to, with that user's permissions. One header without the other,
    or a pair that is unknown, expired or revoked, is a 401."""

    def authenticate(self, request):
        token = request.META.get("HTTP_ACCESSTOKEN")
        secret = request.META.get("HTTP_ACCESSSECRET")
        if token is None and secret is None:
            return None
        access_token = access_token_verify(token=(token or "").strip(), secret=(secret or "").strip())
        if access_token is None:
            raise AuthenticationFailed()
        return access_token.user, access_token

    def authenticate_header(self, request):
        return 'Basic realm="smsgateway"'


class GatewayBasicAuthentication(BasicAuthentication):
    www_authenticate_realm = "smsgateway"


def caller_client(request) -> str:
    """The owner tag of a request: each partner key and each user sees only its own."""
    return client_of(request.user)


def client_of(user) -> str:
    """The owner tag of a caller: "key:<id>" for a partner key, "user:<id>" for a gateway user."""
    if isinstance(user, PartnerSystem):
        return f"key:{user.api_key.pk}"
    return f"user:{user.pk}"
