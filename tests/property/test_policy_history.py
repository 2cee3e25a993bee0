"""Invariants of effective-dated policy histories (RULES.md "Policy versions are effective-dated")."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.policy import load_policy
from domain.policy_history import PolicyHistory
from projections.fold import project
from projections.projector import Projector
from projections.timeline import MemoryCheckpoints, Spacing
from projections.view import digest, snapshot
from schemas import facts as f
from tests.property.strategies import at, fact_sets
from tests.unit.policy_packs import pack

POLICY = load_policy()
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
day = st.integers(min_value=0, max_value=700).map(lambda d: at(60 * 24 * d))
VERSION = re.compile(rb'"policy_version":"[^"]*"')


def without_versions(state_snapshot: object) -> bytes:
    return VERSION.sub(b'"policy_version":""', msgspec.json.encode(state_snapshot))


@SETTINGS
@given(facts=fact_sets())
def test_a_history_of_one_version_is_the_pack(facts: list[f.Fact]) -> None:
    assert digest(snapshot(project(facts, PolicyHistory([POLICY])), None)) == digest(
        snapshot(project(facts, POLICY), None)
    )


@SETTINGS
@given(facts=fact_sets(), starts=st.lists(day, min_size=1, max_size=3, unique=True), as_of=st.none() | day)
def test_versions_with_the_same_terms_decide_the_same(facts: list[f.Fact], starts: list, as_of) -> None:
    """Cutting the history into relabelled copies of 3.0 changes nothing but the recorded versions:
    switching versions mid-fold (between facts, before deadlines) loses and adds nothing."""
    copies = [
        msgspec.structs.replace(POLICY, label=f"3.0-{i}", effective_from=s) for i, s in enumerate(starts)
    ]
    history = PolicyHistory([POLICY, *copies])
    assert without_versions(snapshot(project(facts, history, as_of), as_of)) == without_versions(
        snapshot(project(facts, POLICY, as_of), as_of)
    )


@SETTINGS
@given(
    facts=fact_sets(),
    start=day,
    seed=st.integers(),
    batches=st.integers(1, 6),
    spacing=st.integers(1, 20),
)
def test_the_projector_under_a_history_equals_the_fold(
    facts: list[f.Fact], start, seed: int, batches: int, spacing: int
) -> None:
    """With terms that differ (longer penalties from `start`), whatever the batches and late facts."""
    later = msgspec.structs.replace(pack("3.1", ACCOUNT_SHARED=6, BARCODE_MISMATCH=12), effective_from=start)
    history = PolicyHistory([POLICY, later])
    rng = random.Random(seed)
    arrival = facts[:]
    rng.shuffle(arrival)
    projector = Projector(
        history, checkpoints=MemoryCheckpoints(4), spacing=Spacing(min_facts=spacing, cost_ratio=0)
    )
    cut = sorted(rng.sample(range(len(arrival) + 1), min(batches, len(arrival) + 1)))
    for lo, hi in zip([0, *cut], [*cut, len(arrival)], strict=True):
        projector.add(arrival[lo:hi])
        if rng.random() < 0.3:
            projector.state()
    now = max(fact.at for fact in facts) + timedelta(days=30)
    assert digest(snapshot(projector.state(now), now)) == digest(snapshot(project(facts, history, now), now))
    assert digest(snapshot(projector.state_at(start), start)) == digest(
        snapshot(project(facts, history, start), start)
    )
