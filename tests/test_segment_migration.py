"""audiences 0004: segments made before publishing stay sendable, save those without a condition
(made from bodies whose conditions were dropped), and get the condition type their definition had."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("audiences", "0003_owner")]
AFTER = [("audiences", "0004_segment_volt_mx")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_segments_are_published_unless_they_have_no_condition():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Segment, Condition = old.get_model("audiences", "Segment"), old.get_model("audiences", "SegmentCondition")
    anded = Segment.objects.create(name="anded", definition="1 AND 2")
    ored = Segment.objects.create(name="ored", definition="1 OR 2")
    emptied = Segment.objects.create(name="California", definition="")
    for segment in (anded, ored):
        for number in (1, 2):
            Condition.objects.create(segment=segment, number=number, attribute="state", operator="Equal", value="CA")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("audiences", "Segment")
    found = {s.name: (s.condition_type, s.published) for s in new.objects.all()}
    assert found == {
        "All Users": ("any", True),
        "anded": ("all", True),
        "ored": ("advanced", True),
        "California": ("all", False),
    }
    assert new.objects.get(pk=emptied.pk).definition == ""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
