from django.urls import path

from audiences import api, api_segments

urlpatterns = [
    path("api/v1/audience", api.AudienceListCreateApi.as_view(), name="audience-list"),
    path("api/v1/audience/<str:member_id>", api.AudienceDetailApi.as_view(), name="audience-detail"),
    # Segments (voltmx-family.md section 1).
    path("api/v1/segments", api_segments.SegmentListCreateApi.as_view(), name="segment-list"),
    path("api/v1/segments/<str:segment_id>", api_segments.SegmentDetailApi.as_view(), name="segment-detail"),
    path("api/v1/segments/<str:segment_id>/modify", api_segments.SegmentModifyApi.as_view(), name="segment-modify"),
    path("api/v1/segments/<str:segment_id>/delete", api_segments.SegmentDeleteApi.as_view(), name="segment-delete"),
    path("api/v1/segments/<str:segment_id>/publish", api_segments.SegmentPublishApi.as_view(), name="segment-publish"),
    path(
        "api/v1/segments/<str:segment_id>/unpublish",
        api_segments.SegmentUnpublishApi.as_view(),
        name="segment-unpublish",
    ),
    path(
        "api/v1/segments/<str:segment_id>/validate",
        api_segments.SegmentValidateApi.as_view(),
        name="segment-validate",
    ),
]
