"""Warm checkpoints (projections.warm): a refold starts from a checkpoint thawed ahead of time.

Expected values are written by hand from RULES.md, on the history of tests/unit/test_projector.py:
ACCOUNT-SHARED confirmed on 2025-03-10 10:00 (+08:00) is 3 calendar months on the account and the
number; an annulment voids it from the start; a blacklisted engineer calling from another number is
BLACKLIST-EVASION, 6 months on the company from the call.
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime, timedelta

import pytest

import projections.checkpointed
from projections.projector import Projector
from projections.timeline import MemoryCheckpoints, Spacing
from schemas.codec import normalise
from schemas.facts import Fact
from tests.unit.builders import POLICY, annul, call, t
from tests.unit.test_projector import history, in_force

CONFIRMATION = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)


def projector(*reaches: int) -> Projector:
    return Projector(
        POLICY,
        checkpoints=MemoryCheckpoints(keep=40),
        spacing=Spacing(min_facts=20, cost_ratio=0),
        warm=[timedelta(days=d) for d in reaches],
    )


def no_thaw(*_: object) -> None:
    raise AssertionError("thawed a checkpoint: the warm one should have been taken")


def read_since() -> list[Fact]:
    """a1 calls from a number not blacklisted on March 20: that call reads R1's penalty (evasion), so
    annulling R1 refolds (projections.annulment)."""
    return [*history(), normalise(call("ev", "2025-03-20T23:59", "a1", "+8613900000009"))]


def test_an_annulment_refolds_from_the_warm_checkpoint_unthawed(monkeypatch: pytest.MonkeyPatch) -> None:
    p = projector(25)
    p.add(read_since())
    assert p.prepare() == 1
    (warm,) = p.warm.held.values()
    # the newest checkpoint 25 days before the last call (2025-03-30 17:19 +08:00): March 5 or so
    assert t("2025-03-04T00:00") <= warm.position[0] < t("2025-03-05T17:19")
    monkeypatch.setattr(projections.checkpointed, "newest_sound", no_thaw)
    p.add([normalise(annul("R1", "2025-04-09T10:00", id="annul-R1"))])
    assert in_force(p, "account", "a1", "2025-04-01") == []  # void from the start
    assert in_force(p, "number", "+8613415323691", "2025-04-01") == []
    assert p.state().penalties["R1/account"].annulled_at == datetime(2025, 4, 9, 2, 0, tzinfo=UTC)
    assert "evasion:ev" not in p.state().violations  # a1 was not blacklisted on March 20 after all
    assert p.last_refold is not None and p.last_refold.since == warm.position
    assert p.warm.taken == 1 and len(p.warm) == 0  # used once: the refold folded on into it


def test_without_the_warm_checkpoint_the_same_annulment_thaws() -> None:
    p = projector()
    p.add(read_since())
    assert p.prepare() == 0 and len(p.warm) == 0
    p.add([normalise(annul("R1", "2025-04-09T10:00", id="annul-R1"))])
    assert in_force(p, "account", "a1", "2025-04-01") == []
    assert p.warm.taken == 0 and p.refolds == 1


def test_a_warm_checkpoint_after_the_change_is_not_taken_and_is_discarded() -> None:
    p = projector(0)
    p.add(history())
    assert p.prepare() == 1
    (warm,) = p.warm.held.values()
    assert warm.position[0] >= t("2025-03-29T00:00")  # the newest checkpoint
    late = normalise(call("late", "2025-03-20T23:59", "a1", "+8613900000009"))
    p.add([late])
    assert len(p.warm) == 0  # it lacks the late call: gone before any read
    penalty = p.state().penalties["evasion:late/company"]
    assert (penalty.at, penalty.until) == (
        datetime(2025, 3, 20, 15, 59, tzinfo=UTC),
        datetime(2025, 9, 20, 15, 59, tzinfo=UTC),
    )
    assert p.warm.taken == 0
    # thawed again after the refold: the newest checkpoint now holds the late call's consequences
    assert p.prepare() == 1
    p.add([normalise(annul("R1", "2025-04-09T10:00", id="annul-R1"))])
    # R1 void from the start: the late call was never made while blacklisted, so no evasion either
    assert "evasion:late/company" not in p.state().penalties


def test_a_thaw_planned_before_a_change_is_kept_only_if_the_change_comes_after_it() -> None:
    p = projector(0)
    p.add(history())
    plan = p.plan_warm()
    thawed = p.thaw_warm(plan)
    assert len(thawed) == 1
    p.add([normalise(call("late", "2025-03-20T23:59", "a1", "+8613900000009"))])  # before it
    assert p.install_warm(plan, thawed) == 0
    assert len(p.warm) == 0

    p = projector(0)
    p.add(history())
    plan = p.plan_warm()
    thawed = p.thaw_warm(plan)
    p.add([normalise(call("next", "2025-03-31T09:00", "a2", "+8613900000009"))])  # after it
    assert p.install_warm(plan, thawed) == 1
    assert len(p.warm) == 1


def test_an_idle_process_takes_the_checkpoint_its_refold_did_not() -> None:
    facts = history()
    p = Projector(
        POLICY,
        checkpoints=MemoryCheckpoints(keep=40),
        spacing=Spacing(min_facts=20, cost_ratio=1e9),  # by fold time: none in so short a fold
        warm=[timedelta(0)],
    )
    clock = [0.0]  # the wall clock of the live spacing, moved by hand
    p.cadence.wall = lambda: clock[0]
    p.add(facts)
    # one after the first 20 facts (no checkpoint cost known yet), then none: 1e9 times its cost
    (first,) = p.checkpoints.positions()
    assert first == ((datetime(2025, 3, 1, 5, 5, tzinfo=UTC), 7, "f-1-5"), 20)
    assert p.prepare() == 1 and len(p.checkpoints.positions()) == 1  # no wall time has passed...
    p.warm.held.clear()
    clock[0] = 3600.0  # ...an hour has: far more than 20 times what the first one cost
    assert p.prepare() == 1
    ((position, folded),) = p.checkpoints.positions()[1:]
    # the last filler call, 2025-03-30 17:19 +08:00, with every distinct fact folded in
    assert position[0] == datetime(2025, 3, 30, 9, 19, tzinfo=UTC)
    assert folded == len({fact.id for fact in facts})
    (warm,) = p.warm.held.values()
    assert warm.position == position
    assert p.prepare() == 0  # nothing new: no second checkpoint, no second thaw
    assert len(p.checkpoints.positions()) == 2


@pytest.mark.parametrize("reaches", [(0,), ()])
def test_the_state_a_refold_replaced_is_freed_when_the_process_is_idle(reaches: tuple[int, ...]) -> None:
    p = projector(*reaches)
    p.add(history())
    replaced = weakref.ref(p.state())
    p.add([normalise(call("late", "2025-03-20T23:59", "a1", "+8613900000009"))])  # evasion: refolds
    assert "evasion:late" in p.state().violations and p.refolds == 1
    if not reaches:  # a process that never prepares frees it at once, as before
        assert replaced() is None
        return
    assert replaced() is not None  # freeing millions of records is not the late call's cost
    p.plan_warm()
    assert replaced() is None
