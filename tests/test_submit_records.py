"""The writes of a batch's outcomes (submit_records), on rows claimed as dispatch claims them."""

import pytest

from messaging.backends import SendOutcome, TransientProviderError
from messaging.models import Recipient, RecipientEvent
from messaging.services.dispatch import outcomes_record, recipients_claim
from tests.factories import RecipientFactory

pytestmark = pytest.mark.django_db


def claimed_one():
    RecipientFactory()
    (claimed,) = recipients_claim(batch_size=1)
    return claimed


def test_a_submitted_row_is_written_whole_and_its_lease_released():
    claimed = claimed_one()
    Recipient.objects.filter(pk=claimed.pk).update(error_code="88", error="throttled")  # a retry's leftovers
    outcomes_record(claimed=[claimed], outcomes=[SendOutcome(key=claimed.pk, provider_message_id="00AB")], provider="a")
    row = Recipient.objects.get(pk=claimed.pk)
    assert (row.state, row.provider, row.provider_message_id, row.provider_ref, row.error_code, row.error) == (
        "submitted",
        "a",
        "00AB",
        "ab",
        "",
        "",
    )
    assert (row.lease_token, row.lease_until, row.updated_at) == (None, None, row.submitted_at)


def test_a_submit_is_recorded_as_an_event_with_its_provider_id():
    claimed = claimed_one()
    outcomes_record(claimed=[claimed], outcomes=[SendOutcome(key=claimed.pk, provider_message_id="77")], provider="a")
    assert list(RecipientEvent.objects.values_list("state", "provider_message_id")) == [("submitted", "77")]


def test_a_row_whose_state_may_not_become_submitted_is_left_as_it_is():
    claimed = claimed_one()
    Recipient.objects.filter(pk=claimed.pk).update(state="cancelled")  # cancelled while sending, lease kept
    outcomes_record(claimed=[claimed], outcomes=[SendOutcome(key=claimed.pk, provider_message_id="77")], provider="a")
    assert Recipient.objects.values_list("state", "provider_message_id").get() == ("cancelled", "")


def test_a_retried_row_is_due_again_with_its_error_and_its_lease_released():
    claimed = claimed_one()
    error = TransientProviderError("read timeout", code="timeout")
    error.outcome_unknown = True
    outcomes_record(claimed=[claimed], outcomes=[SendOutcome(key=claimed.pk, error=error)], provider="a")
    row = Recipient.objects.get(pk=claimed.pk)
    assert (row.state, row.provider, row.error_code, row.error, row.outcome_unknown) == (
        "initial",
        "a",
        "timeout",
        "read timeout",
        True,
    )
    assert (row.lease_token, row.lease_until, row.due_at > row.updated_at) == (None, None, True)


def test_a_retried_row_claimed_again_by_another_worker_is_not_touched():
    claimed = claimed_one()
    Recipient.objects.filter(pk=claimed.pk).update(lease_token=None, lease_until=None)  # the lease ran out
    (again,) = recipients_claim(batch_size=1)
    error = TransientProviderError("throttled", code="88")
    outcomes_record(claimed=[claimed], outcomes=[SendOutcome(key=claimed.pk, error=error)], provider="a")
    assert Recipient.objects.values_list("lease_token", "error_code").get() == (again.lease_token, "")
