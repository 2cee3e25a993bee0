"""SLA clocks, calls per quarter and customers of record survive checkpoints: a checkpointed projector
and a thawed state give what `project()` gives. Expected breaches by hand (L1: 30 minutes, paused
while waiting on the partner)."""

from __future__ import annotations

from datetime import UTC, datetime

from projections.checkpoint import freeze, thaw
from projections.fold import apply_in_order, fire_deadlines, in_event_order, project
from projections.projector import Projector
from projections.sla import breaches, clocks
from projections.state import State
from projections.timeline import MemoryCheckpoints, Spacing
from projections.view import digest, snapshot
from schemas import facts as f
from schemas.codec import normalise
from tests.unit.builders import POLICY, SRC, call, case, t, world


def history() -> list[f.Fact]:
    facts: list[f.Fact] = world() + [
        f.CustomerAssigned(id="assign", at=t("2020-01-01"), source=SRC, customer_id="cu1", company_id="co1")
    ]
    for day in range(1, 21):
        k = f"K{day}"
        facts += [
            call(f"c{day}", f"2025-03-{day:02d}T09:00"),
            case(k, f"c{day}", f"2025-03-{day:02d}T09:00", fault_level="L1", id=f"open-{k}"),
        ]
        if day % 2:  # odd days wait on the partner 09:10-09:40: due 10:00 instead of 09:30
            facts += [
                f.CaseAwaitingPartner(id=f"w{day}", at=t(f"2025-03-{day:02d}T09:10"), source=SRC, case_id=k),
                f.CasePartnerReplied(id=f"r{day}", at=t(f"2025-03-{day:02d}T09:40"), source=SRC, case_id=k),
            ]
    return [normalise(x) for x in facts]


def test_a_checkpointed_projector_equals_the_fold() -> None:
    facts = history()
    p = Projector(POLICY, checkpoints=MemoryCheckpoints(keep=40), spacing=Spacing(min_facts=3, cost_ratio=0))
    p.add(facts)
    p.add([normalise(call("late", "2025-03-05T09:20"))])  # a late call: refolds from a checkpoint
    now = t("2025-03-21T00:00")
    state = p.state(now)
    assert p.refolds >= 1
    expected = project([*facts, normalise(call("late", "2025-03-05T09:20"))], POLICY, now)
    assert digest(snapshot(state, now)) == digest(snapshot(expected, now))
    breach = {b.id: b for b in breaches(state, now)}
    assert breach["K1/response-breach"].at == datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # waited: 10:00
    assert breach["K2/response-breach"].at == datetime(2025, 3, 2, 1, 30, tzinfo=UTC)  # 09:30
    assert len(breach) == 20
    assert state.service.calls == {"2025Q1": {"co1": 21}}
    then = t("2025-03-05T09:45")  # K5 waited until 09:40: not breached yet at 09:45, due at 10:00
    found = {c.case_id: c for c in clocks(p.state_at(then), then)}
    assert (found["K5"].response.outcome, found["K5"].response.due) == (
        "open",
        datetime(2025, 3, 5, 2, 0, tzinfo=UTC),
    )
    assert found["K4"].response.outcome == "breached"


def test_a_state_thawed_mid_wait_folds_on_like_the_original() -> None:
    ordered = history()
    in_event_order(ordered)
    half = next(i for i, x in enumerate(ordered) if x.id == "w3") + 1  # K3 is waiting on the partner
    state = State(POLICY)
    apply_in_order(state, ordered[:half])
    thawed, _, _ = thaw(freeze(state, None, half), POLICY)
    assert thawed.service == state.service
    for s in (state, thawed):
        apply_in_order(s, ordered[half:])
        fire_deadlines(s, None)
    assert digest(snapshot(thawed, None)) == digest(snapshot(state, None))
    assert {b.id: b.at for b in breaches(thawed, None)}["K3/response-breach"] == datetime(
        2025, 3, 3, 2, 0, tzinfo=UTC
    )
