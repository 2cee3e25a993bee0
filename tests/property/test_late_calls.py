"""Late facts applied where the fold stands (projections.late) leave exactly the state of the fold.

Not only the views: the whole frozen state (detector histories, calls, counters, everything a
checkpoint holds) must equal `project()`'s, dict order aside, so that nothing a later fact reads can
differ. The facts arrive in event order one batch at a time, except some calls, case facts and
installations held back and sent a few batches late; reads, deadline clocks and checkpoints happen
in between.
"""

from __future__ import annotations

import random
from datetime import timedelta

import msgspec
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from domain.policy import load_policy
from producers.synthetic import generate
from projections.checkpoint import freeze
from projections.fold import in_event_order, project
from projections.projector import Projector
from projections.state import State
from projections.timeline import MemoryCheckpoints, Spacing
from projections.view import digest, snapshot
from schemas import facts as f
from tests.property.strategies import fact_sets

POLICY = load_policy()
#: The kinds held back and sent late: those a late fact may be of to be applied in place.
LATE_KINDS = frozenset({f.CallReceived, *f.CASE_FACTS, f.DeviceInstalled})
_HEAD = len(b"hotline-checkpoint-3\n") + 32  # magic and digest before the body


def whole(state: State) -> bytes:
    """Everything a checkpoint holds, canonical: dict keys sorted, position and count left out."""
    image = msgspec.json.decode(freeze(state, None, 0)[_HEAD:])
    del image[1:3]
    return msgspec.json.encode(image, order="deterministic")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=fact_sets(),
    seed=st.integers(),
    held=st.sampled_from([0.1, 0.3, 0.6]),
    batch=st.integers(1, 6),
    spacing=st.integers(1, 10),
)
def test_late_calls_applied_in_place_equal_the_fold(
    facts: list[f.Fact], seed: int, held: float, batch: int, spacing: int
) -> None:
    rng = random.Random(seed)
    # Some calls on numbers and barcodes of their own (an unknown barcode is valid input), so that
    # late calls sharing no subject with what follows them come up often, beside those that do.
    facts = [
        msgspec.structs.replace(fact, number=f"+86139{i:08d}", barcode=f"X-{i}")
        if type(fact) is f.CallReceived and rng.random() < 0.5
        else fact
        for i, fact in enumerate(facts)
    ]
    ordered = list({fact.id: fact for fact in facts}.values())
    in_event_order(ordered)
    projector = Projector(POLICY, checkpoints=MemoryCheckpoints(4), spacing=Spacing(spacing, cost_ratio=0))
    waiting: list[tuple[int, f.Fact]] = []  # (batches still to wait, call)
    for start in range(0, len(ordered), batch):
        on_time = []
        for fact in ordered[start : start + batch]:
            if type(fact) in LATE_KINDS and rng.random() < held:
                waiting.append((rng.randint(1, 4), fact))
            else:
                on_time.append(fact)
        due = [call for wait, call in waiting if wait == 0]
        waiting = [(wait - 1, call) for wait, call in waiting if wait > 0]
        projector.add(on_time)
        if due:
            projector.add(due)
        if rng.random() < 0.2 and projector.latest is not None:
            projector.advance(projector.latest)
        if rng.random() < 0.2:
            projector.state()
    projector.add([call for _, call in waiting])
    event(f"late facts applied in place: {'some' if projector.late.applied else 'none'}")
    now = max(fact.at for fact in ordered) + timedelta(days=1)
    got, want = projector.state(now), project(ordered, POLICY, now)
    assert digest(snapshot(got, now)) == digest(snapshot(want, now))
    assert whole(got) == whole(want)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a shrink would refold thousands of times
)
@given(seed=st.integers(0, 10_000), held=st.sampled_from([0.02, 0.1]))
def test_late_calls_on_realistic_traffic_often_commute_and_equal_the_fold(seed: int, held: float) -> None:
    """A month of synthetic traffic (30 companies, 300 engineers, ~12 facts an hour) in batches of 3,
    read after each like a worker publishing, with some calls, case facts and installations sent one
    or two batches late (minutes to an hour): many are applied in place (a call usually precedes the
    opening of its case, which it then does not commute with), and the state is the fold's."""
    rng = random.Random(seed)
    ordered = generate(seed=seed, companies=30, engineers=300, months=1)
    in_event_order(ordered)
    projector = Projector(POLICY, checkpoints=MemoryCheckpoints(4), spacing=Spacing(500, cost_ratio=0))
    waiting: list[tuple[int, f.Fact]] = []
    late = 0
    for start in range(0, len(ordered), 3):
        on_time = []
        for fact in ordered[start : start + 3]:
            if type(fact) in LATE_KINDS and rng.random() < held:
                waiting.append((rng.randint(1, 2), fact))
                late += 1
            else:
                on_time.append(fact)
        for batch in (on_time, [call for wait, call in waiting if wait == 0]):
            projector.add(batch)
            projector.state()
        waiting = [(wait - 1, call) for wait, call in waiting if wait > 0]
    projector.add([call for _, call in waiting])
    assert projector.late.applied >= late // 4
    now = ordered[-1].at + timedelta(days=30)  # every deadline due (as_of None would fire all)
    got, want = projector.state(now), project(ordered, POLICY, now)
    assert digest(snapshot(got, now)) == digest(snapshot(want, now))
    assert whole(got) == whole(want)
