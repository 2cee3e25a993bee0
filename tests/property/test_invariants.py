"""Arrival order, duplicates and partitioning never change a projection (RULES.md, Determinism)."""

from __future__ import annotations

import random
import tempfile
import zlib
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.policy import load_policy
from hotline.log import EmbeddedLog
from projections.fold import project
from projections.projector import Projector
from projections.view import digest, snapshot
from schemas import facts as f
from tests.property.strategies import T0, at, fact_sets

POLICY = load_policy()
T_EARLY = T0  # a sort position that makes a fact arrive ahead of its time (a late-arrival mix)
AS_OF = [None, at(60 * 24 * 30), at(60 * 24 * 200), at(60 * 24 * 400), at(60 * 24 * 800)]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def digests(facts: list[f.Fact]) -> list[str]:
    return [digest(snapshot(project(facts, POLICY, t), t)) for t in AS_OF]


def subject_key(fact: f.Fact) -> str:
    """A partitioning key as a producer would choose it: the fact's main subject."""
    for attr in (
        "account_id",
        "company_id",
        "barcode",
        "certificate_id",
        "violation_id",
        "case_id",
        "plan_id",
    ):
        if (value := getattr(fact, attr, None)) is not None:
            return str(value)
    return fact.id


@SETTINGS
@given(facts=fact_sets(), seed=st.integers())
def test_any_arrival_order_gives_identical_projections(facts: list[f.Fact], seed: int) -> None:
    shuffled = facts[:]
    random.Random(seed).shuffle(shuffled)
    assert digests(shuffled) == digests(facts)


@SETTINGS
@given(facts=fact_sets(), seed=st.integers())
def test_every_fact_delivered_twice_changes_nothing(facts: list[f.Fact], seed: int) -> None:
    twice = facts + facts
    random.Random(seed).shuffle(twice)
    assert digests(twice) == digests(facts)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=fact_sets(), partitions=st.integers(2, 5))
def test_split_by_key_over_several_logs_then_merged(facts: list[f.Fact], partitions: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        logs = [EmbeddedLog(Path(tmp) / f"partition-{i}.db") for i in range(partitions)]
        for fact in facts:
            logs[zlib.crc32(subject_key(fact).encode()) % partitions].append([fact])
        merged = [fact for log in logs for fact in log.read()]
        for log in logs:
            log.close()
    assert len(merged) == len({fact.id for fact in facts})
    assert digests(merged) == digests(facts)


@SETTINGS
@given(facts=fact_sets())
def test_as_of_sees_only_facts_up_to_then(facts: list[f.Fact]) -> None:
    """The projection at T is a function of the facts with event time <= T: later facts change nothing."""
    t = AS_OF[2]
    earlier = [fact for fact in facts if fact.at <= t]
    assert digest(snapshot(project(facts, POLICY, t), t)) == digest(snapshot(project(earlier, POLICY, t), t))


@SETTINGS
@given(facts=fact_sets(), seed=st.integers(), batches=st.integers(1, 8), now_days=st.integers(0, 400))
def test_the_incremental_projector_equals_the_fold_whatever_the_batches(
    facts: list[f.Fact], seed: int, batches: int, now_days: int
) -> None:
    """What a long-running worker holds equals the fold of the same facts: in-order batches are
    applied in place, late facts, duplicates and annulments rebuild it."""
    rng = random.Random(seed)
    arrival = facts + rng.sample(facts, len(facts) // 3)  # some re-sent
    arrival.sort(key=lambda fact: (fact.at, rng.random()) if rng.random() < 0.8 else (T_EARLY, rng.random()))
    projector = Projector(POLICY)
    cut = sorted(rng.sample(range(len(arrival) + 1), min(batches, len(arrival) + 1)))
    for start, end in zip([0, *cut], [*cut, len(arrival)], strict=True):
        projector.add(arrival[start:end])
        if rng.random() < 0.3 and projector.facts:
            projector.advance(max(fact.at for fact in projector.facts.values()))
    now = max(fact.at for fact in facts) + timedelta(days=now_days)
    assert digest(snapshot(projector.state(now), now)) == digest(snapshot(project(facts, POLICY, now), now))
    t = AS_OF[2]
    assert digest(snapshot(projector.state_at(t), t)) == digest(snapshot(project(facts, POLICY, t), t))
