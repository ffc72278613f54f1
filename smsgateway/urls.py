from django.contrib import admin
from django.urls import include, path

# Older deployments served the API under /vpns and /kpns: the same paths answer there too.
api_patterns = [
    path("", include("messaging.urls_providers")),
    path("", include("messaging.urls")),
    path("", include("audiences.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include(api_patterns)),
    path("vpns/", include(api_patterns)),
    path("kpns/", include(api_patterns)),
]

# Under the API, an unknown URL or a failure outside DRF answers the contract's body, not HTML.
handler404 = "messaging.api.views.api_not_found"
handler500 = "messaging.api.views.api_server_error"
