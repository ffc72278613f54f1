from django.urls import path

from audiences import api, api_attributes, api_members

urlpatterns = [
    # Audience members and attributes (api_members, api_attributes).
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
    # Segments.
    path("api/v1/segments", api.SegmentListCreateApi.as_view(), name="segment-list"),
    path("api/v1/segments/<str:segment_id>", api.SegmentDetailApi.as_view(), name="segment-detail"),
]
