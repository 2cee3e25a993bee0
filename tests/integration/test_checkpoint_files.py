"""A process's store keeps each checkpoint in a file beside it (storage.checkpoint_files): dropping one
is an unlink, a crash leaves no stray file behind after the next open, and a file that is gone or cut
short is discarded with one log line while the projector falls back to an older checkpoint.

Expected values from RULES.md, as in test_embedded_checkpoints: BARCODE-MISMATCH confirmed on 3 March
10:00 requests the codes with a 7-day deadline; none came, so on 10 March 10:00 (+08:00) the account is
blacklisted for 6 months, to 10 September 10:00."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from projections.timeline import Spacing
from schemas.codec import normalise
from storage.resume import checkpoint_directory, open_store
from tests.integration.test_embedded_checkpoints import history
from tests.unit.builders import OTHER_NUMBER, POLICY, call, t

SPACING = Spacing(min_facts=25, cost_ratio=0)
AFTER = t("2025-03-11T00:00")  # the deadline has passed
BLACKLISTED = (datetime(2025, 3, 10, 2, 0, tzinfo=UTC), datetime(2025, 9, 10, 2, 0, tzinfo=UTC))


def indexed(store: Path) -> list[str]:
    with sqlite3.connect(store) as db:
        return sorted(name for (name,) in db.execute("SELECT file FROM checkpoint_files"))


def on_disk(store: Path) -> list[str]:
    return sorted(p.name for p in checkpoint_directory(store).iterdir())


def fed(store: Path) -> None:
    projector, _ = open_store(store, POLICY, SPACING)
    projector.add(history())
    penalty = projector.state(AFTER).penalties["R1/account"]
    assert (penalty.at, penalty.until) == BLACKLISTED


def test_each_checkpoint_is_one_file_and_none_stays_in_the_database(tmp_path: Path) -> None:
    store = tmp_path / "projection.db"
    fed(store)
    assert len(indexed(store)) >= 3  # 207 facts, one every 25 or so (thinned to 16 at most)
    assert indexed(store) == on_disk(store)
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM checkpoints").fetchone() == (0,)


def test_a_late_fact_unlinks_the_files_of_the_checkpoints_it_drops(tmp_path: Path) -> None:
    store = tmp_path / "projection.db"
    fed(store)
    before = indexed(store)
    projector, _ = open_store(store, POLICY, SPACING)
    # a2's calls run 1-20 February: every checkpoint after 10 February lacks this one, and goes
    projector.add([normalise(call("late", "2025-02-10T08:30", "a2", OTHER_NUMBER))])
    state = projector.state(AFTER)
    assert "late" in state.calls
    assert (state.penalties["R1/account"].at, state.penalties["R1/account"].until) == BLACKLISTED
    after = indexed(store)
    assert after == on_disk(store)
    assert set(before) - set(after), "no checkpoint after 10 February was dropped: nothing was tested"


def test_stray_files_are_removed_when_the_store_opens(tmp_path: Path) -> None:
    store = tmp_path / "projection.db"
    fed(store)
    kept = indexed(store)
    directory = checkpoint_directory(store)
    (directory / "207-0123456789ab.ckpt").write_bytes(b"written, then killed before its row")
    (directory / "207-ba9876543210.ckpt.part").write_bytes(b"killed while writing")
    open_store(store, POLICY, SPACING)
    assert on_disk(store) == kept


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_a_damaged_newest_file_is_discarded_and_an_older_one_used(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = tmp_path / "projection.db"
    fed(store)
    projector, _ = open_store(store, POLICY, SPACING)
    newest = projector.checkpoints.positions()[-1][0]
    with sqlite3.connect(store) as db:
        key = db.execute("SELECT file FROM checkpoint_files ORDER BY facts DESC LIMIT 1").fetchone()[0]
    path = checkpoint_directory(store) / key
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:-7])
    caplog.set_level(logging.WARNING, "hotline.checkpoints")
    projector, _ = open_store(store, POLICY, SPACING)  # resumes: thaws the newest, which fails
    penalty = projector.state(AFTER).penalties["R1/account"]
    assert (penalty.at, penalty.until) == BLACKLISTED
    warnings = [r.getMessage() for r in caplog.records if "discarded" in r.getMessage()]
    assert len(warnings) == 1 and repr(newest) in warnings[0]
    assert projector.last_refold is not None and projector.last_refold.since < newest
    assert key not in indexed(store)


def test_checkpoints_an_earlier_version_kept_inside_the_store_are_dropped(tmp_path: Path) -> None:
    store = tmp_path / "projection.db"
    fed(store)
    with sqlite3.connect(store) as db:
        db.execute("INSERT INTO checkpoints VALUES ('[\"2025-03-01T00:00:00Z\",0,\"x\"]', 9, x'00')")
    projector, _ = open_store(store, POLICY, SPACING)
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM checkpoints").fetchone() == (0,)
    penalty = projector.state(AFTER).penalties["R1/account"]
    assert (penalty.at, penalty.until) == BLACKLISTED
