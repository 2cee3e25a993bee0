"""Held decisions (RULES.md "No silent guess") are order-independent: swaps confirmed before device B is
installed, B installed at any event time or never, in any arrival order, give the same projections in
the fold and in the incremental projector, and a swap is never decided before B is known."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.policy import load_policy
from projections.fold import project
from projections.projector import Projector
from projections.timeline import MemoryCheckpoints, Spacing
from projections.view import digest, snapshot
from schemas import facts as f
from tests.property.strategies import T0, at, world

POLICY = load_policy()
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAY = 60 * 24
AS_OF = [None, at(10 * DAY), at(40 * DAY), at(90 * DAY), at(400 * DAY)]
SWAPS = ["BARCODE-SWAP-IN-WARRANTY", "BARCODE-SWAP-OUT-OF-WARRANTY"]


@st.composite
def swap_histories(draw: st.DrawFn) -> list[f.Fact]:
    """Swap reports naming device BX (not in the world), each confirmed (sometimes twice, sometimes
    annulled) at a random time; BX installed at a random time or never; maybe a maintenance agreement."""
    out: list[f.Fact] = world()
    for i in range(draw(st.integers(1, 4))):
        t = draw(st.integers(1, 60 * DAY))
        account = draw(st.sampled_from(["A1", "A2", "A3"]))
        out.append(
            f.CallReceived(
                id=f"call-{i}",
                at=at(t),
                source="cc",
                account_id=account,
                number="+8613800000001",
                barcode="B1",
                stated_model="M1",
                stated_site="S1",
                problem="port down",
                case_id=f"K-{i}",
            )
        )
        out.append(
            f.ViolationReported(
                id=f"rep-{i}",
                at=at(t + 1),
                source="cc",
                rule=draw(st.sampled_from(SWAPS)),
                account_id=account,
                call_id=f"call-{i}",
                case_id=f"K-{i}",
                device_barcode="BX",
            )
        )
        for j in range(draw(st.integers(1, 2))):
            when = at(t + 2 + draw(st.integers(0, 30 * DAY)))
            out.append(
                f.ViolationConfirmed(id=f"conf-{i}-{j}", at=when, source="cc", violation_id=f"rep-{i}")
            )
        if draw(st.booleans()) and draw(st.booleans()):
            when = at(t + 2 + draw(st.integers(0, 60 * DAY)))
            out.append(f.ViolationAnnulled(id=f"annul-{i}", at=when, source="cc", violation_id=f"rep-{i}"))
    if draw(st.integers(0, 4)):  # mostly installed, sometimes never
        out.append(
            f.DeviceInstalled(
                id="de-BX",
                at=at(draw(st.integers(0, 120 * DAY))),
                source="crm",
                barcode="BX",
                product_model="M9",
                product_line="switch",
                customer_id="K9",
                site_id="S9",
                warranty_end=T0 + timedelta(days=draw(st.integers(-30, 200))),
            )
        )
    if draw(st.booleans()):
        when = at(draw(st.integers(0, 200 * DAY)))
        out.append(f.MaintenanceAgreed(id="maint", at=when, source="crm", company_id="C1", customer_id="K9"))
    return out


def digests(facts: list[f.Fact]) -> list[str]:
    return [digest(snapshot(project(facts, POLICY, t), t)) for t in AS_OF]


@SETTINGS
@given(facts=swap_histories(), seed=st.integers())
def test_a_held_decision_is_the_same_in_any_arrival_order(facts: list[f.Fact], seed: int) -> None:
    shuffled = facts[:]
    random.Random(seed).shuffle(shuffled)
    assert digests(shuffled) == digests(facts)


@SETTINGS
@given(facts=swap_histories(), seed=st.integers(), batches=st.integers(1, 6))
def test_the_incremental_projector_holds_and_releases_like_the_fold(
    facts: list[f.Fact], seed: int, batches: int
) -> None:
    rng = random.Random(seed)
    arrival = facts[:]
    rng.shuffle(arrival)
    # checkpoints every few facts: late facts refold from a thawed state that holds decisions
    projector = Projector(
        POLICY, checkpoints=MemoryCheckpoints(4), spacing=Spacing(min_facts=3, cost_ratio=0)
    )
    cut = sorted(rng.sample(range(len(arrival) + 1), min(batches, len(arrival) + 1)))
    for start, end in zip([0, *cut], [*cut, len(arrival)], strict=True):
        projector.add(arrival[start:end])
    for t in AS_OF[1:]:
        assert digest(snapshot(projector.state_at(t), t)) == digest(snapshot(project(facts, POLICY, t), t))


@SETTINGS
@given(facts=swap_histories())
def test_a_swap_is_never_decided_before_device_b_is_known(facts: list[f.Fact]) -> None:
    installed = next(
        (fact.at for fact in facts if isinstance(fact, f.DeviceInstalled) and fact.id == "de-BX"), None
    )
    for t in AS_OF:
        state = project(facts, POLICY, t)
        held = {h.violation_id for h in snapshot(state, t).held}
        for violation in state.violations.values():
            assert installed is not None and violation.at >= installed
            assert violation.id not in held
        if installed is None or (t is not None and t < installed):
            assert not state.violations  # nothing decided, nothing guessed
            assert not [p for p in state.penalties.values() if p.subject_kind == "company"]
            confirmed = {fact.violation_id for fact in facts if isinstance(fact, f.ViolationConfirmed)}
            confirmed_by_t = {
                fact.violation_id
                for fact in facts
                if isinstance(fact, f.ViolationConfirmed) and (t is None or fact.at <= t)
            }
            assert held == confirmed_by_t <= confirmed
