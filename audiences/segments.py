"""Segments and criteria as database filters: one query, never a loop over members."""

from django.db.models import Q

from audiences.models import Segment


def segment_q(segment: Segment) -> Q:
    """The members a segment holds. A segment with no conditions (such as "All Users") holds all."""
    conditions = list(segment.conditions.all())
    if not conditions or not segment.definition.strip():
        return Q()
    raise NotImplementedError("segment conditions are compiled by audiences.segments")


def criteria_q(tree, segments: dict[int, Segment]) -> Q:
    kind = tree[0]
    if kind == "segment":
        return segment_q(segments[tree[1]])
    if kind == "not":
        return ~criteria_q(tree[1], segments)
    left = criteria_q(tree[1], segments)
    right = criteria_q(tree[2], segments)
    return (left & right) if kind == "and" else (left | right)
