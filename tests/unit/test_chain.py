"""The hash chain names the first record that was altered, removed or reordered."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from storage.chain import GENESIS, link, verify


def chained(bodies: list[bytes]) -> list[tuple[int, bytes, bytes | None]]:
    rows: list[tuple[int, bytes, bytes | None]] = []
    head = GENESIS
    for offset, body in enumerate(bodies, start=1):
        head = link(head, body)
        rows.append((offset, body, head))
    return rows


BODIES = [b"a", b"b", b"c", b"d"]


def test_the_link_is_sha256_over_the_previous_link_and_the_record_hash() -> None:
    # Written out by hand from the definition in storage/chain.py's docstring.
    leaf = hashlib.sha256(b"\x00" + b"a").digest()
    assert link(GENESIS, b"a") == hashlib.sha256(b"\x01" + bytes(32) + leaf).digest()


def test_an_intact_log_verifies_with_its_count_and_head() -> None:
    rows = chained(BODIES)
    verdict = verify(rows)
    assert verdict.intact
    assert (verdict.records, verdict.end_offset, verdict.head) == (4, 4, rows[-1][2])


def test_an_empty_log_is_intact_with_the_genesis_head() -> None:
    verdict = verify([])
    assert verdict.intact and verdict.records == 0 and verdict.head == GENESIS


def test_an_altered_body_is_named_by_its_offset() -> None:
    rows = chained(BODIES)
    rows[2] = (3, b"C", rows[2][2])
    verdict = verify(rows)
    assert verdict.first_break is not None
    assert (verdict.first_break.offset, verdict.first_break.kind) == (3, "altered or reordered")
    assert verdict.records == 2


def test_a_removed_record_is_named_by_the_missing_offset() -> None:
    rows = chained(BODIES)
    del rows[1]
    verdict = verify(rows)
    assert verdict.first_break is not None
    assert (verdict.first_break.offset, verdict.first_break.kind) == (2, "removed")


def test_two_swapped_records_break_at_the_first_of_them() -> None:
    rows = chained(BODIES)
    (o1, b1, l1), (o2, b2, l2) = rows[1], rows[2]
    rows[1], rows[2] = (o1, b2, l2), (o2, b1, l1)
    verdict = verify(rows)
    assert verdict.first_break is not None and verdict.first_break.offset == 2


def test_relinking_after_an_edit_changes_the_head() -> None:
    # Whoever rewrites a record and recomputes every link still cannot keep the head an auditor noted.
    original = chained(BODIES)
    forged = chained([b"a", b"B", b"c", b"d"])
    assert verify(forged).intact
    assert verify(forged).head != verify(original).head


@given(st.lists(st.binary(max_size=20), min_size=1, max_size=30), st.data())
def test_any_single_change_is_caught_at_its_offset(bodies: list[bytes], data: st.DataObject) -> None:
    rows = chained(bodies)
    i = data.draw(st.integers(0, len(rows) - 1))
    new = data.draw(st.binary(max_size=20).filter(lambda b: b != bodies[i]))
    rows[i] = (rows[i][0], new, rows[i][2])
    verdict = verify(rows)
    assert verdict.first_break is not None and verdict.first_break.offset == i + 1
