"""Request ids: 63-bit decimal strings, unique across processes and nodes, ordered by time."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from messaging import ids
from messaging.ids import MAX_NODE, SEQUENCE_BITS, SnowflakeGenerator, default_node, next_request_id

ROOT = Path(__file__).resolve().parent.parent
DRAW_IN_A_PROCESS = """
import json, sys
from messaging.ids import SnowflakeGenerator
generator = SnowflakeGenerator(int(sys.argv[1]))
print(json.dumps([generator.next_id() for _ in range(int(sys.argv[2]))]))
"""


@pytest.fixture(autouse=True)
def _fresh_generator():
    ids._generator = None
    yield
    ids._generator = None


def test_a_request_id_is_a_positive_63_bit_integer_written_in_decimal():
    text = str(next_request_id())
    assert text.isdigit()
    assert 0 < int(text) < 2**63


def test_ids_of_one_generator_are_unique_and_increasing():
    generator = SnowflakeGenerator(5)
    drawn = [generator.next_id() for _ in range(20000)]
    assert drawn == sorted(drawn)
    assert len(set(drawn)) == len(drawn)


@pytest.mark.slow  # two processes
def test_ids_drawn_in_two_processes_with_different_nodes_never_clash():
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", DRAW_IN_A_PROCESS, str(node), "30000"], stdout=subprocess.PIPE, cwd=ROOT
        )
        for node in (1, 2)
    ]
    drawn = []
    for process in processes:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        drawn.append(json.loads(out))
    assert len(set(drawn[0]) | set(drawn[1])) == 60000
    assert all(0 < i < 2**63 for i in drawn[0] + drawn[1])


def test_a_later_id_is_greater_whatever_its_node():
    start = datetime(2030, 5, 1, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        early = SnowflakeGenerator(MAX_NODE).next_id()
        clock.shift(timedelta(milliseconds=1))
        late = SnowflakeGenerator(0).next_id()
    assert late > early


def test_a_clock_that_goes_back_does_not_reorder_ids():
    generator = SnowflakeGenerator(3)
    with time_machine.travel(datetime(2030, 5, 1, 0, 0, 1, tzinfo=UTC), tick=False):
        before = generator.next_id()
    with time_machine.travel(datetime(2030, 5, 1, 0, 0, 0, tzinfo=UTC), tick=False):
        after = generator.next_id()
    assert after > before


def test_more_ids_than_a_millisecond_holds_wait_for_the_next(monkeypatch):
    calls = {"n": 0}
    base = 1893456000.0

    def slow_clock():  # one millisecond passes every 5,000 readings
        calls["n"] += 1
        return base + (calls["n"] // 5000) / 1000

    monkeypatch.setattr(ids.time, "time", slow_clock)
    generator = SnowflakeGenerator(9)
    drawn = [generator.next_id() for _ in range(3 * (1 << SEQUENCE_BITS))]
    assert drawn == sorted(drawn)
    assert len(set(drawn)) == len(drawn)


def test_the_node_comes_from_the_environment(settings):
    settings.REQUEST_ID_NODE = 777
    assert (next_request_id() >> SEQUENCE_BITS) & MAX_NODE == 777


def test_a_node_out_of_range_is_refused():
    with pytest.raises(ValueError):
        SnowflakeGenerator(MAX_NODE + 1)


def test_processes_of_one_machine_with_nearby_pids_get_different_nodes(monkeypatch):
    nodes = set()
    for pid in range(40000, 40000 + 1024):
        monkeypatch.setattr(ids.os, "getpid", lambda pid=pid: pid)
        nodes.add(default_node())
    assert len(nodes) == 1024


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        (42, 42),
        ("0", 0),
        ("007", 7),
        ("1234567890123456789", 1234567890123456789),  # 19 digits within the key: an id like any
        (str(ids.MAX_ID), ids.MAX_ID),
        (str(ids.MAX_ID + 1), None),
        ("99999999999999999999", None),
        ("", None),
        (None, None),
        (True, None),
        (4.0, None),
        ("-1", None),
        ("+1", None),
        ("1e3", None),
        ("٣", None),  # a digit, but not ASCII
        ("1 2", None),
        (["1"], None),
    ],
)
def test_a_row_id_is_ascii_digits_within_the_64_bit_key(given, expected):
    assert ids.id_from_text(given) == expected


@pytest.mark.parametrize("given", ["1234567890123456789", 1234567890123456789])
def test_the_send_api_reads_a_recipient_id_of_19_digits_as_every_id_reader_does(given):
    from messaging.api.normaliser import parse_member_id

    assert parse_member_id(given) == 1234567890123456789


@pytest.mark.parametrize("given", ["1234567890123456789", 1234567890123456789])
def test_the_audience_api_reads_a_member_id_of_19_digits_as_every_id_reader_does(given):
    from messaging.api.audience_members import object_id

    assert object_id(given, not_found="not found") == 1234567890123456789
