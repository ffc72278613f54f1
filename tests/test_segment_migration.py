"""audiences 0004: segments made before publishing stay sendable, save those without a condition
(made from bodies whose conditions were dropped), and get the condition type their definition had."""

import importlib

import pytest
from django.apps import apps

from audiences.models import Segment, SegmentCondition

migration = importlib.import_module("audiences.migrations.0004_segment_volt_mx")


@pytest.mark.django_db
def test_existing_segments_are_published_unless_they_have_no_condition():
    anded = Segment.objects.create(name="anded", definition="1 AND 2", condition_type="advanced")
    ored = Segment.objects.create(name="ored", definition="1 OR 2")
    emptied = Segment.objects.create(name="California", definition="")
    for segment in (anded, ored):
        for number in (1, 2):
            SegmentCondition.objects.create(
                segment=segment, number=number, attribute="state", operator="Equal", value="CA"
            )
    Segment.objects.update(published=False)

    migration.segments_as_before(apps, None)

    found = {s.name: (s.condition_type, s.published) for s in Segment.objects.all()}
    assert found == {
        "All Users": ("any", True),
        "anded": ("all", True),
        "ored": ("advanced", True),
        "California": ("all", False),
    }
    assert Segment.objects.get(pk=emptied.pk).definition == ""
