"""What every provider's callback views share. Each kind's views are in its folder
(`<kind>/callbacks.py`) and its routes in its descriptor; they take no API credentials, only the
provider's own signature, and a bad one is refused here."""

from django.http import JsonResponse

from messaging.api.errors import contract_body

SIGNATURE_REFUSED = "Signature check failed"


def signature_refused() -> JsonResponse:
    return JsonResponse(contract_body(SIGNATURE_REFUSED), status=403)
