"""A refused line is kept whole up to 65,536 characters, then cut with the count of what was left out:
a 5 MiB line must not become a record the rejects topic (4 MiB) refuses (found by bench/hostile.py)."""

from __future__ import annotations

from producers.validate import Rejection


def test_a_short_line_is_kept_whole() -> None:
    assert Rejection(file="f", line=1, field=None, reason="r", raw="x" * 65_536).raw == "x" * 65_536


def test_a_huge_line_is_cut_and_says_how_much_was_left_out() -> None:
    raw = Rejection(file="f", line=1, field="problem", reason="r", raw="y" * 5_000_000).raw
    assert raw == "y" * 65_536 + "… [4,934,464 more characters not kept]"
