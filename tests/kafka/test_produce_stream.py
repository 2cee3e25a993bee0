"""`hotline produce` a window at a time (producers/produce_files.py) against the real broker: with
windows of a few lines the mixed file gives exactly what the file read whole gives, a line may name
an account opened further down, and the cap on waiting lines refuses the oldest."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.kafka_producer import FactPublisher
from producers.produce_files import produce_files

from .test_producers import (
    MIXED,
    MIXED_GOOD,
    account,
    assert_nothing_dropped,
    call,
    check_mixed,
    company,
    ids_on_topic,
    reasons,
    rejects_on_topic,
)
from .test_producers import ns as ns  # noqa: F401 (the fixture)

pytestmark = pytest.mark.kafka


@pytest.mark.parametrize(("part", "cap"), [(2, 100), (2, 1), (1, 3)])
def test_windows_of_a_few_lines_give_what_the_whole_file_gives(
    kafka_broker: str, ns: str, tmp_path: Path, part: int, cap: int
) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(MIXED) + "\n")
    with FactPublisher(kafka_broker, ns, role="any") as publisher:
        report = produce_files(publisher, [path], part=part, cap=cap)
    check_mixed(report)  # line 10 names account A-2, opened on line 11, in a later window
    assert ids_on_topic(kafka_broker, ns) == MIXED_GOOD
    on_rejects = rejects_on_topic(kafka_broker, ns)
    assert [key for key, _ in on_rejects] == [f"{path}:{n}" for n in (3, 4, 5, 6, 7, 12, 13)]
    assert on_rejects[0][1].raw == MIXED[2]  # quoted from its own window
    assert_nothing_dropped(report)


def test_past_the_cap_the_oldest_waiting_line_is_judged_at_once(
    kafka_broker: str, ns: str, tmp_path: Path
) -> None:
    path = tmp_path / "forward.jsonl"
    lines = [
        company("co-1", "C-1"),  # 1
        call("call-1", "A-1"),  # 2 waits for A-1, then is pushed out by line 3: refused
        call("call-2", "A-2"),  # 3 waits for A-2
        account("ac-1", "A-1", "C-1"),  # 4
        account("ac-2", "A-2", "C-1"),  # 5 lets line 3 through
    ]
    path.write_text("\n".join(lines) + "\n")
    with FactPublisher(kafka_broker, ns, role="any") as publisher:
        report = produce_files(publisher, [path], part=1, cap=1)
    assert reasons(report) == {2: ("account_id", "unknown account 'A-1': no fact introduces it")}
    assert ids_on_topic(kafka_broker, ns) == ["ac-1", "ac-2", "call-2", "co-1"]
    assert (report.read, report.published, report.duplicates) == (5, 4, 0)
    assert_nothing_dropped(report)
