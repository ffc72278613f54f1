from django.urls import path

from messaging.api import send_fast, views

urlpatterns = [
    path("api/v1/message/sms", send_fast.sms_send, name="sms-send"),
    path("api/v1/message/sms/<str:request_id>", views.SmsRequestDetailApi.as_view(), name="sms-request-detail"),
    path("api/v1/messages/sms/<str:request_id>", views.SmsRequestCancelApi.as_view(), name="sms-request-cancel"),
]
