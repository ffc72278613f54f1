"""Report totals: recipients counted by state in one aggregation, resend reports summed in one place."""

import pytest

from messaging.models import Recipient, RecipientState
from messaging.selectors import recipient_state_counts
from messaging.services.resend import COUNTS, ResendReport
from tests.factories import RecipientFactory, SmsMessageFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    "states",
    [
        [],
        ["initial"],
        ["delivered", "delivered", "undelivered"],
        ["submitted", "delivered", "rejected", "expired", "cancelled", "not attempted", "initial"],
    ],
)
def test_recipients_are_counted_by_state_with_every_state_named_and_a_total(states):
    message = SmsMessageFactory()
    for state in states:
        RecipientFactory(message=message, state=state)
    counts = recipient_state_counts(Recipient.objects.filter(message=message))
    assert counts == {
        **{state.value: states.count(state.value) for state in RecipientState},
        "total": len(states),
    }


@pytest.mark.parametrize(
    ("reports", "expected"),
    [
        ([], (0, 0, 0, 0)),
        ([ResendReport(resent=2, opted_out=1)], (2, 1, 0, 0)),
        (
            [ResendReport(resent=2, opted_out=1, new_ids=[7, 8]), ResendReport(not_failed=3, already_resent=4)],
            (2, 1, 3, 4),
        ),
    ],
)
def test_resend_reports_sum_each_of_their_counts(reports, expected):
    total = ResendReport.total_of(reports)
    assert tuple(getattr(total, name) for name in COUNTS) == expected
    assert total.skipped == sum(expected[1:])


def test_every_count_of_a_resend_report_is_summed():
    numbers = {name for name, field in ResendReport.__dataclass_fields__.items() if field.type in (int, "int")}
    assert numbers == set(COUNTS)
