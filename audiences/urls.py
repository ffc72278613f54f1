from django.urls import path

from audiences import api

urlpatterns = [
    path("api/v1/audience", api.AudienceListCreateApi.as_view(), name="audience-list"),
    path("api/v1/audience/<str:member_id>", api.AudienceDetailApi.as_view(), name="audience-detail"),
    path("api/v1/segments", api.SegmentListCreateApi.as_view(), name="segment-list"),
    path("api/v1/segments/<str:segment_id>", api.SegmentDetailApi.as_view(), name="segment-detail"),
]
