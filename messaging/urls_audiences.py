"""The audience, attribute and segment APIs (their views are in messaging/api/audience_*.py)."""

from django.urls import path

from messaging.api import audience_attributes, audience_members, audience_segments

urlpatterns = [
    # Audience members and attributes (voltmx-family.md sections 2 and 3).
    path("api/v1/audience", audience_members.AudienceListCreateApi.as_view(), name="audience-list"),
    path("api/v1/audience/modify", audience_members.AudienceModifyApi.as_view(), name="audience-modify"),
    path("api/v1/audience/<str:member_id>", audience_members.AudienceDetailApi.as_view(), name="audience-detail"),
    path(
        "api/v1/audience/<str:member_id>/delete", audience_members.AudienceDeleteApi.as_view(), name="audience-delete"
    ),
    path("api/v1/admin/attributes", audience_attributes.AttributeListCreateApi.as_view(), name="attribute-list"),
    path(
        "api/v1/admin/attributes/<str:attribute_id>",
        audience_attributes.AttributeDetailApi.as_view(),
        name="attribute-detail",
    ),
    path(
        "api/v1/admin/attributes/<str:attribute_id>/modify",
        audience_attributes.AttributeModifyApi.as_view(),
        name="attribute-modify",
    ),
    path("api/v1/admin", audience_attributes.AudienceSettingsApi.as_view(), name="audience-settings"),
    # Segments (voltmx-family.md section 1).
    path("api/v1/segments", audience_segments.SegmentListCreateApi.as_view(), name="segment-list"),
    path("api/v1/segments/<str:segment_id>", audience_segments.SegmentDetailApi.as_view(), name="segment-detail"),
    path(
        "api/v1/segments/<str:segment_id>/modify", audience_segments.SegmentModifyApi.as_view(), name="segment-modify"
    ),
    path(
        "api/v1/segments/<str:segment_id>/delete", audience_segments.SegmentDeleteApi.as_view(), name="segment-delete"
    ),
    path(
        "api/v1/segments/<str:segment_id>/publish",
        audience_segments.SegmentPublishApi.as_view(),
        name="segment-publish",
    ),
    path(
        "api/v1/segments/<str:segment_id>/unpublish",
        audience_segments.SegmentUnpublishApi.as_view(),
        name="segment-unpublish",
    ),
    path(
        "api/v1/segments/<str:segment_id>/validate",
        audience_segments.SegmentValidateApi.as_view(),
        name="segment-validate",
    ),
]
