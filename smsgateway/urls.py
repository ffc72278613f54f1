from django.contrib import admin
from django.urls import include, path

from smsgateway.schema import SchemaApi, SchemaSwaggerApi

# Older deployments served the API under /vpns and /kpns: the same paths answer there too.
api_patterns = [
    path("", include("messaging.urls_providers")),
    path("", include("messaging.urls")),
    path("", include("messaging.urls_audiences")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("ops.urls")),  # /healthz, /readyz, /metrics
    # The OpenAPI 3 description of the API and its Swagger UI (credentials needed, like the API).
    path("api/schema/", SchemaApi.as_view(), name="api-schema"),
    path("api/schema/swagger/", SchemaSwaggerApi.as_view(url_name="api-schema"), name="api-schema-swagger"),
    path("", include(api_patterns)),
    path("vpns/", include(api_patterns)),
    path("kpns/", include(api_patterns)),
]

# Under the API, an unknown URL or a failure outside DRF answers the contract's body, not HTML.
handler404 = "messaging.api.views.api_not_found"
handler500 = "messaging.api.views.api_server_error"
