"""Late calls, case facts and installations that touch nothing folded after them are applied
without a refold (projections.late).

Expected values are written by hand from RULES.md and the shipped policy (3.0): the shared-account
detector raises a suspicion when one account is on two numbers at overlapping times, a call lasting
15 minutes when it has no end time; suspicion ids are `<detector>:<call id>`. Times are +08:00.
"""

from __future__ import annotations

from datetime import timedelta

from projections.fold import project, sort_key
from projections.projector import Projector
from projections.timeline import MemoryCheckpoints, Spacing
from projections.view import digest, snapshot
from schemas.codec import normalise
from schemas.facts import Fact
from tests.unit.builders import NUMBER, OTHER_NUMBER, POLICY, annul, call, case, device, t, world


def history() -> list[Fact]:
    """Engineers a1 and a2 of co1; a2 calls every 10 minutes from 09:00 to 11:50 on 2025-03-10
    about device BC1; a1 called once at 08:00 about BC2."""
    facts = world(("a1", "a2")) + [device("BC2", id="device-bc2")]
    facts += [call("a1-0800", "2025-03-10T08:00", "a1", NUMBER, barcode="BC2")]
    facts += [
        call(f"a2-{i}", f"2025-03-10T{9 + i // 6:02d}:{i % 6 * 10:02d}", "a2", OTHER_NUMBER)
        for i in range(18)
    ]
    return [normalise(f) for f in facts]


def fed() -> Projector:
    p = Projector(POLICY, checkpoints=MemoryCheckpoints(keep=8), spacing=Spacing(min_facts=5, cost_ratio=0))
    for fact in sorted(history(), key=sort_key):  # one at a time, in event order: all in place
        p.add([fact])
    p.state()
    return p


def calls_in_quarter(p: Projector) -> int:
    return p.state().service.calls["2025Q1"]["co1"]


def test_a_late_call_on_its_own_subjects_is_applied_without_a_refold() -> None:
    p = fed()
    assert (p.refolds, calls_in_quarter(p)) == (0, 19)
    late = normalise(call("a1-1005", "2025-03-10T10:05", "a1", NUMBER, barcode="BC2"))  # 2 h after a1's call
    p.add([late])
    state = p.state()
    assert (p.refolds, p.late.applied) == (0, 1)
    assert calls_in_quarter(p) == 20
    assert "a1-1005" in state.calls
    assert not state.suspicions
    facts = [*history(), late]
    assert digest(snapshot(state, None)) == digest(snapshot(project(facts, POLICY), None))


def test_a_late_call_that_raises_a_suspicion_refolds_and_the_suspicion_stands() -> None:
    p = fed()
    # a1 at 08:00 on NUMBER lasts until 08:15; at 08:10 on OTHER_NUMBER it is on two numbers at once
    late = normalise(call("a1-0810", "2025-03-10T08:10", "a1", OTHER_NUMBER, barcode="BC2"))
    p.add([late])
    state = p.state()
    assert (p.refolds, p.late.applied) == (1, 0)
    suspicion = state.suspicions["shared-account:a1-0810"]
    assert (suspicion.rule, suspicion.at) == ("ACCOUNT-SHARED", t("2025-03-10T00:10Z"))
    assert sorted(suspicion.causes) == ["a1-0800", "a1-0810"]


def test_a_late_call_on_a_subject_touched_after_it_refolds() -> None:
    p = fed()
    # a2 called at 10:00 and later; a late a2 call at 09:55 shares account, number and barcode
    late = normalise(call("a2-0955", "2025-03-10T09:55", "a2", OTHER_NUMBER))
    p.add([late])
    state = p.state()
    assert (p.refolds, p.late.applied) == (1, 0)
    assert calls_in_quarter(p) == 20
    assert not state.suspicions


def test_checkpoints_after_a_commuting_late_call_are_dropped_and_a_past_query_sees_it() -> None:
    p = fed()
    late = normalise(call("a1-1005", "2025-03-10T10:05", "a1", NUMBER, barcode="BC2"))
    after = [c for c in p.checkpoints.before(None) if c.position is not None and c.position[0] >= late.at]
    assert after  # taken every 5 facts: some lie after the late call, and lack it
    p.add([late])
    assert p.late.applied == 1
    assert all(c.position is None or c.position[0] < late.at for c in p.checkpoints.before(None))
    past = p.state_at(t("2025-03-10T10:30"))  # from a checkpoint before the late call, then the facts
    assert past.service.calls["2025Q1"]["co1"] == 1 + 1 + 10  # a1 08:00, the late call, a2 09:00-10:30


def test_a_deadline_clock_past_the_late_call_that_fired_nothing_does_not_stop_it() -> None:
    p = fed()
    p.advance(t("2025-03-11T00:00"))  # no deadline pending: nothing fires, nothing changes
    late = normalise(call("a1-1005", "2025-03-10T10:05", "a1", NUMBER, barcode="BC2"))
    p.add([late])
    p.state()
    assert (p.refolds, p.late.applied) == (0, 1)


def test_an_annulment_folded_after_it_does_not_keep_a_late_call_from_commuting() -> None:
    p = fed()
    p.add([normalise(annul("R-none", "2025-03-10T12:00", id="annul-1"))])  # names nothing: no refold
    p.state()
    late = normalise(call("a1-1005", "2025-03-10T10:05", "a1", NUMBER, barcode="BC2"))
    p.add([late])
    p.state()
    assert (p.refolds, p.late.applied) == (0, 1)


def test_a_late_installation_of_another_barcode_is_applied_without_a_refold() -> None:
    p = fed()
    late = normalise(device("BC3", customer="cu9", at="2025-03-10T10:05", id="device-bc3"))
    p.add([late])
    state = p.state()
    assert (p.refolds, p.late.applied) == (0, 1)
    assert state.devices["BC3"].customer_id == "cu9"
    facts = [*history(), late]
    assert digest(snapshot(state, None)) == digest(snapshot(project(facts, POLICY), None))


def test_a_late_case_on_a1s_own_call_is_applied_and_one_on_a2s_refolds() -> None:
    p = fed()
    # a1's case about its 08:00 call on BC2, recorded at 10:05: nothing after 10:05 names a1, BC2 or K1
    mine = normalise(case("K1", "a1-0800", "2025-03-10T10:05", "a1", "BC2", id="case-k1"))
    p.add([mine])
    state = p.state()
    assert (p.refolds, p.late.applied) == (0, 1)
    assert state.cases["K1"].account_id == "a1"
    # a2's case about BC1 at 10:05: a2 calls about BC1 every 10 minutes after it
    theirs = normalise(case("K2", "a2-6", "2025-03-10T10:05", "a2", "BC1", id="case-k2"))
    p.add([theirs])
    state = p.state()
    assert (p.refolds, p.late.applied) == (1, 1)
    facts = [*history(), mine, theirs]
    assert digest(snapshot(state, None)) == digest(snapshot(project(facts, POLICY), None))


def test_live_the_projector_takes_one_checkpoint_per_event_day_and_none_extra_when_catching_up() -> None:
    """Spacing.every: by fold cost alone a day of calls never earns a checkpoint (min_facts is out of
    reach here); live, the first fact a day or more after the last checkpoint takes one, when the
    wall time since is live_ratio times its cost; caught up in a burst (the wall clock still), none
    after the first."""
    spacing = Spacing(min_facts=10**9, cost_ratio=4.0, every=timedelta(days=1), live_ratio=20.0)
    calls = [
        normalise(call(f"d{d}-{h}", f"2025-03-{d:02d}T{h:02d}:00", "a2", OTHER_NUMBER))
        for d in (10, 11, 12)
        for h in (9, 15)
    ]
    for live, expected in ((True, ["d10-9", "d11-9", "d12-9"]), (False, ["d10-9"])):
        p = Projector(POLICY, checkpoints=MemoryCheckpoints(keep=8), spacing=spacing)
        clock = [0.0]
        p.cadence.wall = lambda clock=clock: clock[0]
        for fact in calls:
            if live:
                clock[0] = fact.at.timestamp()  # as if it arrived in real time
            p.add([fact])
        assert sorted(c.position[2] for c in p.checkpoints.before(None) if c.position) == expected
