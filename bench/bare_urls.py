"""A bare DRF endpoint for bench_api: the same parsers and middleware as the send API, no
authentication, no throttle, no database; it parses the body and answers a constant."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

CONSTANT = {"id": "0", "message": "Request Queued. "}


class BareParseApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def post(self, request):
        if not isinstance(request.data, dict):
            return Response({"id": "", "message": "Failed to parse the input request"}, status=400)
        return Response(CONSTANT)


urlpatterns = [path("api/v1/message/sms", BareParseApi.as_view())]
