"""`Timeline.scan`: what an annulment's check reads back (projections.annulment). The SQLite timeline
filters the kinds in the query, so it must give exactly the facts the in-memory one gives: every fact
of those kinds after the position, none before it, none of another kind.

And through a worker's store: BARCODE-MISMATCH R1, confirmed on 3 March 10:00 (+08:00), blacklisted
account a1 and its number on 10 March 10:00 (codes deadline passed). Nothing after it reads those
penalties (a2's calls use another account and number), so annulling it on 20 March 10:00 voids it in
place: no refold, and the penalties carry annulled_at 20 March 02:00Z."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from projections.checkpoint import start_of
from projections.fold import sort_key
from projections.timeline import MemoryTimeline
from schemas import facts as f
from schemas.codec import normalise
from storage.resume import open_store
from storage.timeline import SqliteTimeline
from tests.integration.test_embedded_checkpoints import history
from tests.unit.builders import OTHER_NUMBER, POLICY, annul, call, t

SAME_INSTANT = [  # three facts at one instant: the position between them must cut exactly
    normalise(call(f"same-{i}", "2025-02-10T09:00", "a2", OTHER_NUMBER)) for i in range(3)
]


def timelines(tmp_path: Path) -> tuple[MemoryTimeline, SqliteTimeline]:
    facts = [*history(), *SAME_INSTANT]
    memory = MemoryTimeline()
    memory.put(facts)
    stored = SqliteTimeline(sqlite3.connect(tmp_path / "timeline.db", isolation_level=None), batch=7)
    stored.put(facts)
    return memory, stored


def ids(batches: object) -> list[str]:
    return sorted(fact.id for batch in batches for fact in batch)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "kinds",
    [
        {f.CallReceived},
        {f.ViolationConfirmed, f.ViolationReported},
        {f.AccountOpened, f.CompanyRegistered, f.CallReceived},
        {f.PenaltyLifted},
    ],
)
def test_the_sqlite_scan_gives_exactly_the_facts_the_memory_scan_gives(
    tmp_path: Path, kinds: set[type[f.Fact]]
) -> None:
    memory, stored = timelines(tmp_path)
    middle = sorted(SAME_INSTANT, key=sort_key)[1]
    for position in [
        None,
        start_of(t("2025-02-05T00:00")),
        sort_key(middle),
        start_of(t("2025-04-01T00:00")),
    ]:
        assert ids(stored.scan(position, kinds)) == ids(memory.scan(position, kinds))
    calls = ids(stored.scan(sort_key(middle), {f.CallReceived}))
    assert [i for i in calls if i.startswith("same-")] == [sorted(SAME_INSTANT, key=sort_key)[2].id]
    assert ids(stored.scan(None, {f.PenaltyLifted})) == []
    assert ids(stored.scan(None, {f.ViolationConfirmed})) == ["conf-R1"]


def test_an_annulment_nothing_read_is_voided_in_place_over_the_store(tmp_path: Path) -> None:
    projector, _ = open_store(tmp_path / "projection.db", POLICY)
    projector.add(history())
    after_deadline = t("2025-03-11T00:00")
    assert projector.state(after_deadline).penalties["R1/account"].annulled_at is None
    refolds = projector.refolds
    projector.add([normalise(annul("R1", "2025-03-20T10:00", id="annul-R1"))])
    state = projector.state()
    assert projector.voided == 1 and projector.refolds == refolds
    voided = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)
    assert state.penalties["R1/account"].annulled_at == voided
    assert state.penalties["R1/number"].annulled_at == voided
    assert state.violations["R1"].annulled_at == voided
