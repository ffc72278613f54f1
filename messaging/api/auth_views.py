"""GET /api/v1/oauth/accesstoken: the Volt MX OAuth access token (voltmx-family.md section 8)."""

from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.services.access_tokens import access_token_issue

from .access import Access
from .authentication import GatewayBasicAuthentication


class AccessTokenApi(APIView):
    """Any active gateway user who signs in with Basic gets a token and a secret; later calls send
    them as the AccessToken and AccessSecret headers and act as that user, with that user's
    permissions. Only Basic is read here: a partner key is no credential for this route (a key has
    no user to act as), and a token cannot renew itself past its expiry or its revocation."""

    authentication_classes = [GatewayBasicAuthentication]
    access = {"GET": Access(None, (), any_user=True)}

    def get(self, request):
        access_token, secret = access_token_issue(user=request.user)
        return Response({"AccessToken": access_token.token, "AccessSecret": secret})
