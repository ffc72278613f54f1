from django.urls import path

from messaging.api import auth_views, provider_views

urlpatterns = [
    path("api/v1/smsconfig", provider_views.SmsConfigApi.as_view(), name="sms-config"),
    path("api/v1/status/sms", provider_views.SmsStatusApi.as_view(), name="sms-status"),
    # Before the cancel route of messaging.urls, whose `messages/sms/<id>` would take "fetch".
    path("api/v1/messages/sms/fetch", provider_views.SmsFetchAllApi.as_view(), name="sms-fetch-all"),
    path("api/v1/messages/sms/content/<str:sms_id>", provider_views.SmsFullContentApi.as_view(), name="sms-content"),
    path("api/v1/oauth/accesstoken", auth_views.AccessTokenApi.as_view(), name="oauth-access-token"),
    path("api/v1/messages/sms/inbound/default", provider_views.InboundSmsApi.as_view(), name="sms-inbound"),
    path("api/v1/callbacks/twilio/status", provider_views.twilio_status_callback, name="twilio-status"),
    path("api/v1/callbacks/twilio/inbound", provider_views.twilio_inbound, name="twilio-inbound"),
    path("api/v1/callbacks/nexmo/status", provider_views.vonage_status_callback, name="nexmo-status"),
    path("api/v1/callbacks/nexmo/inbound", provider_views.vonage_inbound, name="nexmo-inbound"),
]
