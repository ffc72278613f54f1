from django.urls import path

from audiences import api_attributes, api_members, api_segments

urlpatterns = [
    # Audience members and attributes (voltmx-family.md sections 2 and 3).
    path("api/v1/audience", api_members.AudienceListCreateApi.as_view(), name="audience-list"),
    path("api/v1/audience/modify", api_members.AudienceModifyApi.as_view(), name="audience-modify"),
    path("api/v1/audience/<str:member_id>", api_members.AudienceDetailApi.as_view(), name="audience-detail"),
    path("api/v1/audience/<str:member_id>/delete", api_members.AudienceDeleteApi.as_view(), name="audience-delete"),
    path("api/v1/admin/attributes", api_attributes.AttributeListCreateApi.as_view(), name="attribute-list"),
    path(
        "api/v1/admin/attributes/<str:attribute_id>",
        api_attributes.AttributeDetailApi.as_view(),
        name="attribute-detail",
    ),
    path(
        "api/v1/admin/attributes/<str:attribute_id>/modify",
        api_attributes.AttributeModifyApi.as_view(),
        name="attribute-modify",
    ),
    path("api/v1/admin", api_attributes.AudienceSettingsApi.as_view(), name="audience-settings"),
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
