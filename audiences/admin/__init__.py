"""The audience pages for marketing staff (the Django admin), by subject. Importing the package
registers them all, as the admin's autodiscovery does.

- members.py: members (search, filters, the member form with the API's rules, lifting an
  opt-out with a reason);
- members_csv.py: the CSV import and export of members;
- attributes.py: custom attributes, kept while a segment's condition names them;
- segments.py: segments with their conditions, the validate button that shows the definition as
  it will be evaluated, a live count of the members it holds, publishing, and deleting through
  the segment services.
"""

from .attributes import AudienceAttributeAdmin, AudienceAttributeForm
from .members import LiftOptOutForm, MemberAdmin, MemberForm
from .members_csv import ImportForm, MemberCsvViews
from .segments import SegmentAdmin, SegmentConditionForm, SegmentConditionFormSet, SegmentConditionInline

__all__ = [
    "AudienceAttributeAdmin",
    "AudienceAttributeForm",
    "ImportForm",
    "LiftOptOutForm",
    "MemberAdmin",
    "MemberCsvViews",
    "MemberForm",
    "SegmentAdmin",
    "SegmentConditionForm",
    "SegmentConditionFormSet",
    "SegmentConditionInline",
]
