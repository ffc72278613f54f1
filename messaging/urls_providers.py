from django.urls import path
from django.utils.module_loading import import_string

from messaging.api import auth_views, provider_views
from messaging.providers.registry import PROVIDER_KINDS

urlpatterns = [
    path("api/v1/smsconfig", provider_views.SmsConfigApi.as_view(), name="sms-config"),
    path("api/v1/status/sms", provider_views.SmsStatusApi.as_view(), name="sms-status"),
    # Before the cancel route of messaging.urls, whose `messages/sms/<id>` would take "fetch".
    path("api/v1/messages/sms/fetch", provider_views.SmsFetchAllApi.as_view(), name="sms-fetch-all"),
    path("api/v1/messages/sms/content/<str:sms_id>", provider_views.SmsFullContentApi.as_view(), name="sms-content"),
    path("api/v1/oauth/accesstoken", auth_views.AccessTokenApi.as_view(), name="oauth-access-token"),
    path("api/v1/messages/sms/inbound/default", provider_views.InboundSmsApi.as_view(), name="sms-inbound"),
]

# Each provider kind's callbacks (its status and inbound webhooks), as its descriptor declares them.
urlpatterns += [
    path(route.path, import_string(route.view), name=route.name)
    for descriptor in PROVIDER_KINDS.values()
    for route in descriptor.callbacks
]
