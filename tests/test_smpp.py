"""The SMPP backend against a real SMPP server on loopback (smpp34's, see tests/peers/smsc.py)."""

import threading
import time
from datetime import UTC, datetime

import pytest

from messaging.backends.base import OutboundSms, PermanentProviderError, TransientProviderError
from messaging.backends.smpp import SmppBackend
from messaging.backends.smpp.pdu import smpp_message_id_forms
from tests.peers.smsc import ESME_RINVDSTADR, ESME_RTHROTTLED, LoopbackSmsc, free_port


def wait_for(condition, seconds=3.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def texts(count, start=0, text="Your code is {}"):
    return [
        OutboundSms(key=start + i, phone=f"+2547{start + i:08d}", text=text.format(start + i), sender="SMSGW")
        for i in range(count)
    ]


@pytest.fixture
def smsc():
    peer = LoopbackSmsc().start()
    yield peer
    peer.stop()


@pytest.fixture
def receipts():
    return []


@pytest.fixture
def backend_for(receipts):
    made = []

    def make(peer, **options):
        options.setdefault("receipt_hold_seconds", 0)
        backend = SmppBackend(
            receipt_sink=receipts.extend, port=peer.port if peer else free_port(), system_id="gw", **options
        )
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


def test_a_batch_is_submitted_over_one_bind_with_receipts_asked(smsc, backend_for):
    backend = backend_for(smsc, window=8)
    outcomes = backend.send_messages(texts(30))
    assert sorted(outcome.key for outcome in outcomes) == list(range(30))
    assert all(outcome.error is None and outcome.provider_message_id for outcome in outcomes)
    assert smsc.stats()["binds"] == 1
    assert {taken.registered_delivery for taken in smsc.taken} == {1}


def test_several_binds_share_a_batch(smsc, backend_for):
    backend = backend_for(smsc, binds=2, window=4)
    outcomes = backend.send_messages(texts(30))
    assert sum(1 for outcome in outcomes if outcome.error is None) == 30
    assert len({taken.session_id for taken in smsc.taken}) == 2


def test_the_bind_is_kept_for_the_next_batch(smsc, backend_for):
    backend = backend_for(smsc)
    backend.send_messages(texts(5))
    backend.send_messages(texts(5, start=5))
    receipts = {"receipts_sent": 0, "receipts_offered": 0, "receipts_resent": 0, "receipts_unacked": 0}
    assert smsc.stats() | receipts == {
        "binds": 1,
        "unbinds": 0,
        "taken": 10,
        "accepted": 10,
        "duplicates": 0,
        "receipts_sent": 0,
        "receipts_offered": 0,
        "receipts_resent": 0,
        "receipts_unacked": 0,
    }


def test_receipts_reach_the_sink_with_the_submitted_id_when_the_bases_are_set(smsc, backend_for, receipts):
    smsc.resp_id_format, smsc.receipt_id_format = "{:08X}", "{:d}"
    backend = backend_for(smsc, submit_id_base=16, receipt_id_base=10)
    outcomes = backend.send_messages(texts(20))
    assert wait_for(lambda: len(receipts) == 20)
    assert {r.provider_message_id for r in receipts} == {o.provider_message_id for o in outcomes}


def test_a_receipt_in_another_base_is_found_among_the_id_forms(smsc, backend_for, receipts):
    smsc.resp_id_format, smsc.receipt_id_format = "{:016X}", "{:d}"
    smsc.next_id = 0x5F3A9C11
    backend = backend_for(smsc)
    [outcome] = backend.send_messages(texts(1))
    assert wait_for(lambda: len(receipts) == 1)
    assert (outcome.provider_message_id, receipts[0].provider_message_id) == ("5f3a9c11", "1597676561")
    assert outcome.provider_message_id in smpp_message_id_forms(receipts[0].provider_message_id)


def test_receipts_of_a_batch_wait_until_the_caller_comes_back_for_the_next(smsc, backend_for, receipts):
    backend = backend_for(smsc, receipt_hold_seconds=30)
    backend.send_messages(texts(3))
    assert wait_for(lambda: backend.deliveries.waiting() + len(receipts) == 3)  # all three came in
    assert receipts == []
    backend.send_messages([])
    assert wait_for(lambda: len(receipts) == 3)


def test_receipts_of_a_batch_wait_for_its_end_however_long_the_smsc_holds_it(smsc, backend_for):
    # Two submits are answered and their receipts come at once; the third is never answered,
    # so the batch lasts the response timeout, far beyond the hold.
    smsc.silent_after = 2
    taken = []
    backend = backend_for(smsc, window=3, response_timeout=1.0, receipt_hold_seconds=0.2)
    backend.receipt_sink = lambda batch: taken.extend((time.monotonic(), r.provider_message_id) for r in batch)
    outcomes = backend.send_messages(texts(3))
    ended = time.monotonic()
    assert wait_for(lambda: len(taken) == 2, seconds=3)
    assert {message_id for _, message_id in taken} == {outcome.provider_message_id for outcome in outcomes}
    assert min(at for at, _ in taken) >= ended


def test_a_receipt_the_sink_could_not_store_is_refused_for_now(smsc, backend_for):
    def failing_sink(receipts):
        raise RuntimeError("database down")

    backend = backend_for(smsc)
    backend.receipt_sink = failing_sink
    backend.send_messages(texts(2))
    assert wait_for(lambda: smsc.receipts_sent == 2)
    assert smsc.receipt_answers == {0x64: 2}


def test_a_receipt_refused_for_now_is_sent_again_on_the_same_bind(backend_for, receipts):
    refusals = []

    def sink_down_once(batch):
        if not refusals:
            refusals.append(len(batch))
            raise RuntimeError("database down")
        receipts.extend(batch)

    with LoopbackSmsc(receipt_retry_seconds=0.2) as smsc:
        backend = backend_for(smsc)
        backend.receipt_sink = sink_down_once
        outcomes = backend.send_messages(texts(1))
        assert wait_for(lambda: receipts, seconds=5)
        assert ([r.provider_message_id for r in receipts], smsc.stats()["binds"]) == (
            [outcomes[0].provider_message_id],
            1,
        )


def test_a_receipt_whose_bind_died_unacknowledged_comes_on_the_next_bind(backend_for, receipts):
    with LoopbackSmsc(receipt_retry_seconds=0.2, receipt_answer_timeout=1.0) as smsc:
        first = backend_for(smsc, receipt_hold_seconds=30)  # holds the receipts unanswered
        first.receipt_sink = [].extend
        sent = {outcome.provider_message_id for outcome in first.send_messages(texts(3))}
        # The receipts reach the first bind, which never answers them.
        assert wait_for(lambda: smsc.stats()["receipts_offered"] >= 3)
        first.close()
        second = backend_for(smsc)
        second.send_messages(texts(1, start=3))
        assert wait_for(lambda: sent <= {r.provider_message_id for r in receipts}, seconds=5)


def test_a_receipt_without_the_tlv_is_read_from_its_text(smsc, backend_for, receipts):
    smsc.receipt_tlv, smsc.receipt_status = False, "UNDELIV"
    backend = backend_for(smsc)
    [outcome] = backend.send_messages(texts(1))
    assert wait_for(lambda: len(receipts) == 1)
    assert (receipts[0].delivered, receipts[0].status) == (False, "UNDELIV")
    assert outcome.provider_message_id in smpp_message_id_forms(receipts[0].provider_message_id)


def test_a_long_text_is_split_with_a_concatenation_header(smsc, backend_for):
    backend = backend_for(smsc)
    [outcome] = backend.send_messages(texts(1, text="x" * 200 + "{}"))
    parts = sorted(smsc.taken, key=lambda taken: taken.short_message[5])
    assert outcome.error is None
    assert [(p.esm_class, p.short_message[:3], p.short_message[4:6]) for p in parts] == [
        (0x40, b"\x05\x00\x03", b"\x02\x01"),
        (0x40, b"\x05\x00\x03", b"\x02\x02"),
    ]
    assert b"".join(p.short_message[6:] for p in parts) == b"x" * 200 + b"0"


def test_a_text_outside_gsm_goes_as_ucs2(smsc, backend_for):
    backend = backend_for(smsc)
    backend.send_messages(texts(1, text="Привет {}"))
    [taken] = smsc.taken
    assert (taken.data_coding, taken.short_message.decode("utf-16-be")) == (8, "Привет 0")


def test_a_gsm_text_keeps_its_escapes_on_the_wire(smsc, backend_for):
    backend = backend_for(smsc)
    backend.send_messages(texts(1, text="€5 [ok] {}"))
    [taken] = smsc.taken
    assert (taken.data_coding, taken.short_message) == (0, b"\x1b\x655 \x1b\x3cok\x1b\x3e 0")


def test_a_throttled_submit_is_transient(smsc, backend_for):
    smsc.reject = {"254700000001": ESME_RTHROTTLED}
    backend = backend_for(smsc)
    outcomes = {outcome.key: outcome for outcome in backend.send_messages(texts(3))}
    assert isinstance(outcomes[1].error, TransientProviderError)
    assert outcomes[1].error.code == "ESME_RTHROTTLED"
    assert outcomes[0].error is None and outcomes[2].error is None


def test_an_invalid_destination_is_permanent(smsc, backend_for):
    smsc.reject = {"254700000000": ESME_RINVDSTADR}
    backend = backend_for(smsc)
    [outcome] = backend.send_messages(texts(1))
    assert isinstance(outcome.error, PermanentProviderError)
    assert outcome.error.code == "ESME_RINVDSTADR"


def test_a_dropped_bind_loses_nothing_and_guesses_nothing(smsc, backend_for):
    smsc.drop_after = 5
    backend = backend_for(smsc, window=10)
    outcomes = backend.send_messages(texts(40))
    taken = {int(taken.destination_addr) - 254700000000 for taken in smsc.taken}
    held = {int(taken.destination_addr) - 254700000000 for taken in smsc.taken if taken.status is None}
    answered = {outcome.key for outcome in outcomes}
    unanswered = set(range(40)) - answered
    # What the SMSC held unanswered, or never read before it dropped the bind, has no outcome
    # (it is retried as outcome unknown); whatever has an outcome, the SMSC really took.
    assert held and held <= unanswered
    assert answered <= taken
    assert taken | unanswered == set(range(40))
    assert smsc.stats()["binds"] == 2


def test_an_smsc_that_stops_answering_leaves_the_outcome_unknown(smsc, backend_for):
    smsc.silent = True
    backend = backend_for(smsc, response_timeout=0.3)
    assert backend.send_messages(texts(3)) == []
    assert len(smsc.taken) == 3


def test_no_bind_to_be_had_is_a_transient_failure(backend_for):
    backend = backend_for(None, reconnect_wait=0.2, connect_timeout=0.2)
    [outcome] = backend.send_messages(texts(1))
    assert isinstance(outcome.error, TransientProviderError)
    assert outcome.error.code == "bind_unavailable"


def test_an_idle_bind_sends_enquire_link(smsc, backend_for):
    backend = backend_for(smsc, enquire_link_seconds=0.1)
    backend.send_messages(texts(1))
    assert wait_for(lambda: backend.enquire_links_answered >= 2)
    assert smsc.stats()["unbinds"] == 0


def test_the_validity_period_is_the_expiry_in_smpp_time(backend_for):
    backend = backend_for(None)
    sms = OutboundSms(key=1, phone="+254700000001", text="hi", expires_at=datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC))
    [fields] = backend.sender.submit_fields(sms)
    assert fields["validity_period"] == "300506070809000+"


# --- texts members send (mobile-originated deliver_sm) ---------------------------------------


def test_a_text_a_member_sends_reaches_the_inbound_sink_decoded(smsc, backend_for):
    taken = []
    backend = backend_for(smsc, inbound_sink=taken.extend)
    assert backend.send_messages(texts(1))  # the bind is open
    gsm = "STOP {€}".replace("{", "\x1b\x28").replace("}", "\x1b\x29").replace("€", "\x1b\x65")
    assert smsc.send_mo("14155550123", "SMSGW", gsm.encode("latin-1")) == 0
    assert smsc.send_mo("14155550124", "SMSGW", "Привет".encode("utf-16-be"), data_coding=8) == 0
    assert wait_for(lambda: len(taken) == 2)
    assert [(t.source_addr, t.destination_addr, t.text) for t in taken] == [
        ("14155550123", "SMSGW", "STOP {€}"),
        ("14155550124", "SMSGW", "Привет"),
    ]


def test_a_text_the_sink_could_not_store_is_refused_for_now(smsc, backend_for):
    def failing_sink(texts):
        raise RuntimeError("database down")

    backend = backend_for(smsc, inbound_sink=failing_sink)
    backend.send_messages(texts(1))
    assert smsc.send_mo("14155550123", "SMSGW", b"STOP") == 0x64


def test_a_text_with_no_inbound_sink_is_acknowledged(smsc, backend_for):
    backend = backend_for(smsc)
    backend.send_messages(texts(1))
    assert smsc.send_mo("14155550123", "SMSGW", b"hello") == 0


def test_connect_opens_the_binds_before_any_send_and_texts_arrive_on_them(smsc, backend_for):
    taken = []
    backend = backend_for(smsc, binds=2, inbound_sink=taken.extend)
    assert backend.connect() == 2
    assert wait_for(lambda: smsc.stats()["binds"] == 2)  # the SMSC counts a bind once it has answered it
    assert smsc.send_mo("14155550123", "SMSGW", b"STOP") == 0
    assert wait_for(lambda: [t.text for t in taken] == ["STOP"])
    backend.send_messages(texts(3))
    assert smsc.stats()["binds"] == 2  # the same binds carry the sends


def test_connect_and_a_send_at_once_open_each_bind_once(smsc, backend_for):
    backend = backend_for(smsc, binds=1)
    opener = threading.Thread(target=backend.connect)
    opener.start()
    backend.send_messages(texts(2))
    opener.join(5)
    assert smsc.stats()["binds"] == 1
