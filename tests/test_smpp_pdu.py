"""SMPP values that need no connection: ids, receipts, statuses, parts."""

from smpplib import command

from messaging.backends.base import PermanentProviderError, TransientProviderError
from messaging.backends.smpp.pdu import (
    address_ton_npi,
    inbound_from_deliver_sm,
    receipt_from_deliver_sm,
    smpp_message_id_forms,
    smpp_message_id_normal,
    sms_parts,
    submit_sm_pdu,
    submit_status_error,
)


def test_a_hex_id_loses_its_leading_zeros_and_case():
    assert smpp_message_id_normal(b"000A1B\x00") == "a1b"


def test_an_opaque_id_is_only_trimmed():
    assert smpp_message_id_normal(" Msg-7Q ") == "Msg-7Q"


def test_a_decimal_receipt_id_matches_a_hex_submit_id():
    assert smpp_message_id_normal("0A1B") in smpp_message_id_forms("2587")


def test_a_hex_receipt_id_matches_a_decimal_submit_id():
    assert smpp_message_id_normal("2587") in smpp_message_id_forms("A1B")


def test_a_receipt_id_without_leading_zeros_matches():
    assert smpp_message_id_normal("000123") in smpp_message_id_forms("123")


def test_different_ids_do_not_match():
    assert smpp_message_id_normal("0A1C") not in smpp_message_id_forms("2587")


def test_a_receipt_text_gives_state_error_and_time():
    receipt = receipt_from_deliver_sm(
        esm_class=0x04,
        short_message=b"id:00FF sub:001 dlvrd:000 submit date:2501011200 done date:2501011230 stat:UNDELIV err:034",
    )
    assert (receipt.provider_message_id, receipt.delivered, receipt.status, receipt.error_code) == (
        "ff",
        False,
        "UNDELIV",
        "034",
    )
    assert receipt.at.isoformat() == "2025-01-01T12:30:00+00:00"


def test_an_intermediate_receipt_is_not_handed_on():
    assert receipt_from_deliver_sm(esm_class=0x04, short_message=b"id:1 stat:ENROUTE err:000") is None


def test_an_mo_text_is_not_a_receipt():
    assert receipt_from_deliver_sm(esm_class=0, short_message=b"STOP") is None


def test_the_tlv_id_wins_over_the_text():
    receipt = receipt_from_deliver_sm(esm_class=0x04, short_message=b"id:1 stat:DELIVRD", receipted_message_id="0009")
    assert (receipt.provider_message_id, receipt.delivered) == ("9", True)


def test_queue_full_and_system_error_are_transient():
    assert all(isinstance(submit_status_error(status), TransientProviderError) for status in (0x14, 0x08, 0x58))


def test_bad_source_and_destination_are_permanent():
    assert all(isinstance(submit_status_error(status), PermanentProviderError) for status in (0x0A, 0x0B))


def test_a_single_gsm_text_is_one_part_without_header():
    parts = sms_parts(text="x" * 160)
    assert (parts.data_coding, parts.esm_class, len(parts.payloads)) == (0, 0, 1)


def test_a_split_never_cuts_an_escape():
    parts = sms_parts(text="x" * 152 + "€" + "y" * 10, reference=7)
    assert [payload[6:8] for payload in parts.payloads] == [b"xx", b"\x1b\x65"]


def test_ucs2_parts_hold_67_units():
    parts = sms_parts(text="ж" * 71)
    assert [len(payload) - 6 for payload in parts.payloads] == [134, 8]


def test_a_split_never_cuts_a_surrogate_pair():
    parts = sms_parts(text="ж" * 66 + "😀" + "ж" * 5)
    assert [len(payload) - 6 for payload in parts.payloads] == [132, 14]


def test_addresses_get_their_type_of_number():
    assert [address_ton_npi(a) for a in ("+254700000001", "12345", "SMSGW")] == [
        ("254700000001", 1, 1),
        ("12345", 3, 0),
        ("SMSGW", 5, 0),
    ]


def test_a_submit_sm_is_encoded_as_smpplib_encodes_it():
    fields = {
        "service_type": "",
        "source_addr_ton": 5,
        "source_addr_npi": 0,
        "source_addr": "SMSGW",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": "254700000001",
        "esm_class": 0x40,
        "protocol_id": 0,
        "priority_flag": 1,
        "schedule_delivery_time": "",
        "validity_period": "300506070809000+",
        "registered_delivery": 1,
        "replace_if_present_flag": 0,
        "data_coding": 8,
        "sm_default_msg_id": 0,
        "short_message": b"\x05\x00\x03\x07\x02\x01" + "ж".encode("utf-16-be"),
    }
    reference = command.SubmitSM("submit_sm", sequence=42, **fields)
    reference.sequence = 42
    assert submit_sm_pdu(sequence=42, **fields) == reference.generate()


def test_a_mobile_originated_text_drops_its_udh_and_keeps_its_escapes():
    udh = bytes([5, 0, 3, 7, 2, 1])
    text = inbound_from_deliver_sm(
        esm_class=0x40,
        data_coding=0,
        short_message=udh + b"Price \x1b\x65" + b"5",
        source_addr="14155550123",
        destination_addr="SMSGW",
    )
    assert text.text == "Price €5"


def test_a_receipt_is_no_mobile_originated_text():
    assert (
        inbound_from_deliver_sm(
            esm_class=0x04, data_coding=0, short_message=b"id:1 stat:DELIVRD", source_addr="1", destination_addr="2"
        )
        is None
    )
