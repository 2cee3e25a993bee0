"""Arrival order, duplicates and partitioning never change a projection (RULES.md, Determinism)."""

from __future__ import annotations

import random
import tempfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.policy import load_policy
from projections.checkpoint import freeze, thaw
from projections.fold import annulled, apply_in_order, fact_set, fire_deadlines, in_event_order, project
from projections.projector import Projector
from projections.state import State
from projections.timeline import Checkpoint, MemoryCheckpoints, Spacing
from projections.view import digest, snapshot
from schemas import facts as f
from storage.log import EmbeddedLog
from storage.resume import resume_over_log
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


def conflicting_versions(facts: list[f.Fact], rng: random.Random) -> list[f.Fact]:
    """Second versions of a few ids (another source, sometimes another time): a producer's mistake."""
    out = []
    for fact in rng.sample(facts, min(len(facts), rng.randrange(0, 3))):
        shift = timedelta(minutes=rng.choice([0, -90, 600]))
        out.append(msgspec.structs.replace(fact, source="other", at=fact.at + shift))
    return out


@SETTINGS
@given(
    facts=fact_sets(),
    seed=st.integers(),
    batches=st.integers(1, 12),
    now_days=st.integers(0, 400),
    spacing=st.integers(1, 40),
    keep=st.integers(2, 6),
    early=st.sampled_from([0.0, 0.03, 0.2]),
    warm=st.sampled_from([(), (0,), (0, 20), (3, 60)]),
)
def test_the_checkpointed_projector_equals_the_fold_whatever_the_batches(
    facts: list[f.Fact],
    seed: int,
    batches: int,
    now_days: int,
    spacing: int,
    keep: int,
    early: float,
    warm: tuple[int, ...],
) -> None:
    """What a long-running worker holds equals the fold of the same facts: in-order batches are
    applied in place; late facts, duplicates, conflicting ids, lifts and annulments refold from a
    checkpoint (taken every `spacing` facts here, thinned to `keep`), some of them corrupted, or
    from a warm one (`warm`: their reaches in days), some thawed before a batch and kept after it."""
    rng = random.Random(seed)
    facts = facts + conflicting_versions(facts, rng)
    arrival = facts + rng.sample(facts, len(facts) // 3)  # some re-sent
    # `early`: the share that arrives ahead of its time; the rest comes in event order, in place
    arrival.sort(key=lambda f: (T_EARLY, rng.random()) if rng.random() < early else (f.at, rng.random()))
    checkpoints = MemoryCheckpoints(keep)
    projector = Projector(
        POLICY,
        checkpoints=checkpoints,
        spacing=Spacing(min_facts=spacing, cost_ratio=0),
        warm=[timedelta(days=d) for d in warm],
    )
    cut = sorted(rng.sample(range(len(arrival) + 1), min(batches, len(arrival) + 1)))
    for start, end in zip([0, *cut], [*cut, len(arrival)], strict=True):
        in_flight = None
        if warm and rng.random() < 0.5:  # thawed before the batch, installed after it (another thread)
            plan = projector.plan_warm()
            in_flight = (plan, projector.thaw_warm(plan))
        projector.add(arrival[start:end])
        if in_flight is not None:
            projector.install_warm(*in_flight)
        if warm and rng.random() < 0.3:
            projector.prepare()
        if rng.random() < 0.3 and projector.latest is not None:
            projector.advance(projector.latest)
        if rng.random() < 0.3:
            projector.state()  # a read in between materialises a pending refold
        if checkpoints.saved and rng.random() < 0.2:  # a checkpoint damaged on disk
            victim = rng.randrange(len(checkpoints.saved))
            blob = checkpoints.saved[victim].blob
            checkpoints.saved[victim] = Checkpoint(
                checkpoints.saved[victim].position, 0, blob[: len(blob) // 2]
            )
    now = max(fact.at for fact in facts) + timedelta(days=now_days)
    assert digest(snapshot(projector.state(now), now)) == digest(snapshot(project(facts, POLICY, now), now))
    for t in AS_OF[1:]:
        assert digest(snapshot(projector.state_at(t), t)) == digest(snapshot(project(facts, POLICY, t), t))


@SETTINGS
@given(facts=fact_sets(), seed=st.integers())
def test_a_thawed_checkpoint_folds_on_like_the_original(facts: list[f.Fact], seed: int) -> None:
    """Freeze the fold half-way, thaw it, fold the rest: the same state as folding straight through."""
    ordered = fact_set(facts)[0]
    in_event_order(ordered)
    half = random.Random(seed).randrange(len(ordered) + 1)
    annulments = [fact for fact in ordered if isinstance(fact, f.ViolationAnnulled)]
    state = State(POLICY)
    state.annulled = annulled(annulments)
    apply_in_order(state, ordered[:half])
    thawed, position, count = thaw(freeze(state, None, half), POLICY)
    assert count == half
    for s in (state, thawed):
        apply_in_order(s, ordered[half:])
        fire_deadlines(s, None)
    assert digest(snapshot(thawed, None)) == digest(snapshot(state, None))


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
        if rng.random() < 0.3 and projector.latest is not None:
            projector.advance(projector.latest)
    now = max(fact.at for fact in facts) + timedelta(days=now_days)
    assert digest(snapshot(projector.state(now), now)) == digest(snapshot(project(facts, POLICY, now), now))
    t = AS_OF[2]
    assert digest(snapshot(projector.state_at(t), t)) == digest(snapshot(project(facts, POLICY, t), t))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=fact_sets(), seed=st.integers(), chunks=st.integers(1, 6), spacing=st.integers(1, 30))
def test_the_embedded_log_checkpoints_equal_the_fold(
    facts: list[f.Fact], seed: int, chunks: int, spacing: int
) -> None:
    """Ingest in a few runs, in arrival order, each followed by a command that resumes from the log's
    checkpoints (a new process each time): the answers equal the fold of what the log holds."""
    rng = random.Random(seed)
    arrival = facts[:]
    rng.shuffle(arrival)
    cuts = sorted(rng.sample(range(len(arrival) + 1), min(chunks, len(arrival) + 1)))
    with tempfile.TemporaryDirectory() as tmp:
        for start, end in zip([0, *cuts], [*cuts, len(arrival)], strict=True):
            with EmbeddedLog(Path(tmp) / "log.db") as log:
                log.append(arrival[start:end])
                held = log.read()
                projector = resume_over_log(log, POLICY, Spacing(min_facts=spacing, cost_ratio=0))
                for t in rng.sample(AS_OF, len(AS_OF)):  # in any order: a question never moves another
                    want = digest(snapshot(project(held, POLICY, t), t))
                    got = projector.state_at(datetime.max.replace(tzinfo=UTC) if t is None else t)
                    assert digest(snapshot(got, t)) == want
