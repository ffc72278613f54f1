"""Health, readiness and metrics: no login; /metrics may ask for a bearer token (METRICS_TOKEN).

/readyz tells anyone only whether the gateway is ready; what each check found (hosts, ports, error
texts) is shown only to a caller that presents METRICS_TOKEN, and to nobody when none is set.
"""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .health import readiness_checks_cached
from .metrics import scrape_registry


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _bearer_token_given(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@never_cache
@require_GET
def readyz(request):
    checks = readiness_checks_cached()
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if ready else "unavailable"}
    if _bearer_token_given(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if ready else 503)


@never_cache
@require_GET
def metrics(request):
    if getattr(settings, "METRICS_TOKEN", ""):
        if not _bearer_token_given(request):
            response = HttpResponse("A bearer token is required for /metrics.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
