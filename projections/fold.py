"""The fold: every projection at an as-of time is a function of the set of facts up to that time."""

from __future__ import annotations

import contextlib
import copy
import gc
import heapq
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import compress
from operator import attrgetter, eq

import msgspec

from domain.detectors import CallDetectors
from domain.policy import Policy
from domain.policy_history import PolicyHistory, as_history
from projections.apply import HANDLERS, codes_deadline
from projections.consequences import anomaly
from projections.state import State
from schemas.facts import RANK, Fact, ViolationAnnulled


def fact_set(facts: Iterable[Fact]) -> tuple[list[Fact], list[tuple[Fact, Fact]]]:
    """Distinct facts by id. Two different facts under one id are a conflict; the smaller encoding wins,
    so the choice does not depend on arrival order, and each distinct losing version is reported once,
    in event order (`conflict_order`), so re-sends and arrival order do not change the report."""
    facts = facts if isinstance(facts, list) else list(facts)
    if len(set(map(attrgetter("id"), facts))) == len(facts):
        return list(facts), []  # no id twice (the usual case): checked in C, every fact kept in order
    by_id: dict[str, Fact] = {}
    conflicts: dict[tuple[str, bytes], tuple[Fact, Fact]] = {}
    for fact in facts:
        seen = by_id.setdefault(fact.id, fact)
        if seen is not fact and seen != fact:
            keep, drop = settle(seen, fact)
            by_id[fact.id] = keep
            conflicts[version(drop)] = (keep, drop)
    # A version that lost to a third one is still reported against the final winner.
    found = [(by_id[drop.id], drop) for keep, drop in conflicts.values()]
    return list(by_id.values()), sorted(found, key=conflict_order)


def settle(seen: Fact, fact: Fact) -> tuple[Fact, Fact]:
    """(kept, dropped) of two versions of an id: the smaller encoding, whatever came first."""
    keep, drop = sorted((seen, fact), key=msgspec.msgpack.encode)
    return keep, drop


def version(fact: Fact) -> tuple[str, bytes]:
    """One version of an id: conflicts are reported once per version, however often it is re-sent."""
    return fact.id, msgspec.msgpack.encode(fact)


def conflict_order(pair: tuple[Fact, Fact]) -> tuple[tuple[datetime, int, str], bytes]:
    return sort_key(pair[1]), msgspec.msgpack.encode(pair[1])


def sort_key(fact: Fact) -> tuple[datetime, int, str]:
    return (fact.at, RANK[type(fact)], fact.id)


def in_event_order(facts: list[Fact]) -> None:
    """Sort in place by sort_key. The C-level key `at` does the bulk; the rare runs of facts at
    one instant are then re-sorted by the full key: exactly sort_key's order, at a fraction of the cost."""
    facts.sort(key=attrgetter("at"))  # ties are re-sorted below by the full key
    times = list(map(attrgetter("at"), facts))
    tied = compress(range(len(times) - 1), map(eq, times, times[1:]))  # i where facts i, i+1 share at
    end = -1
    for i in tied:
        if i < end:
            continue
        end = i + 1
        while end < len(times) and times[end] == times[i]:
            end += 1
        facts[i:end] = sorted(facts[i:end], key=sort_key)


def apply_in_order(state: State, ordered: list[Fact]) -> Fact | None:
    """Apply facts already in event order, each after the deadlines due at or before its instant, and
    each under the policy version in force at its instant.

    A fact whose handler raises is quarantined, not fatal: an anomaly names it and the error, and the
    fold goes on (RULES.md: nothing that passes the edge may stop the fold). The same facts raise the
    same way in every fold, so this stays deterministic.

    Returns the last fact that was not quiet: it (or a deadline due before it) raised a suspicion,
    confirmed a violation, recorded an anomaly or scheduled a deadline (`State.effects` moved); None
    when every one was quiet. Late facts cannot be applied out of order across it (projections.late)."""
    history = state.history
    if history.single:  # the usual case: no per-fact look at the history
        return _apply(state, ordered)
    # The facts are in event order: cut them where a version takes effect (a bisect per boundary, not
    # a lookup per fact), and switch between the runs.
    at = attrgetter("at")
    start, noisy = 0, None
    while start < len(ordered):
        index = history.index_at(ordered[start].at)
        end = (
            bisect_left(ordered, history.starts[index], lo=start, key=at)
            if index < len(history.starts)
            else len(ordered)
        )
        _deadlines_before(state, history, ordered[start].at)
        enter(state, history.versions[index])
        noisy = _apply(state, ordered[start:end]) or noisy
        start = end
    return noisy


def enter(state: State, policy: Policy) -> None:
    """Make `policy` the version in force. Detectors keep their history under new thresholds."""
    if state.policy is policy:
        return
    previous, state.policy = state.policy, policy
    if previous.detectors != policy.detectors:
        detectors = CallDetectors(policy)
        detectors.restore(state.detectors.history(), state.devices)
        state.detectors = detectors


def _deadlines_before(state: State, history: PolicyHistory, t: datetime) -> None:
    """Fire the deadlines before t, each under the version in force at its own instant."""
    scheduled = state.scheduled
    while scheduled and scheduled[0][0] < t:
        enter(state, history.at(scheduled[0][0]))
        _deadline(state, heapq.heappop(scheduled))


def _apply(state: State, ordered: list[Fact]) -> Fact | None:
    scheduled = state.scheduled
    noisy = None
    for fact in ordered:
        before = state.effects
        while scheduled and scheduled[0][0] <= fact.at:
            _deadline(state, heapq.heappop(scheduled))
        try:
            HANDLERS[type(fact)](state, fact)
        except Exception as error:  # noqa: BLE001 (any rule bug or value out of range: quarantine it)
            quarantine(state, fact.id, fact.at, error)
        if state.effects != before:
            noisy = fact
    return noisy


def fire_deadlines(state: State, until: datetime | None) -> None:
    """Apply the deadlines due up to `until` (every one when None); the version in force is then the
    one at `until` (at the last deadline when None)."""
    scheduled = state.scheduled
    history = state.history
    while scheduled and (until is None or scheduled[0][0] <= until):
        if not history.single:
            enter(state, history.at(scheduled[0][0]))
        _deadline(state, heapq.heappop(scheduled))
    if until is not None and not history.single:
        enter(state, history.at(until))


def _deadline(state: State, entry: tuple[datetime, int, str]) -> None:
    at, _, violation_id = entry
    state.effects += 1
    try:
        codes_deadline(state, violation_id)
    except Exception as error:  # noqa: BLE001 (as for a fact: recorded, and the fold goes on)
        quarantine(state, violation_id, at, error)


def quarantine(state: State, fact_id: str, at: datetime, error: Exception) -> None:
    anomaly(state, fact_id, at, f"quarantined: applying it failed with {type(error).__name__}: {error}")


def project(facts: Iterable[Fact], policy: Policy | PolicyHistory, as_of: datetime | None = None) -> State:
    """Fold the facts with event time <= as_of (all when None) in event-time order into a State.

    Under a history, each fact is judged by the version in force at its instant; one pack is a
    history of one version, in force at every instant.

    A deadline applies before the facts of its instant: a penalty that starts at the deadline already
    covers a call at that instant (as admission says), and codes sent at that instant are late.
    """
    distinct, conflicts = fact_set(facts)
    if as_of is not None:
        distinct = [fact for fact in distinct if fact.at <= as_of]
    in_event_order(distinct)
    state = new_state(policy)
    annulments = [fact for fact in distinct if type(fact) is ViolationAnnulled]
    state.annulled = annulled(annulments)
    with collector_paused():
        apply_in_order(state, distinct)
        fire_deadlines(state, as_of)
    return finish(state, annulments, conflicts)


def new_state(policy: Policy | PolicyHistory) -> State:
    """The empty state, under the earliest version of the history."""
    history = as_history(policy)
    return State(history.earliest, history)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """A fold builds millions of small acyclic records: a cyclic collection finds nothing to free
    among them and cost about a third of the fold (bench/fold.py), so it waits until the fold ends.
    Process-wide while it lasts."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def annulled(annulments: Iterable[ViolationAnnulled]) -> dict[str, datetime]:
    """Violation id -> annulment time, from annulments in event order. Void from the start: the fold
    reads it when the violation is confirmed, however much later the annulment came."""
    return {fact.violation_id: fact.at for fact in annulments}


def finish(
    state: State, annulments: Iterable[ViolationAnnulled], conflicts: Iterable[tuple[Fact, Fact]]
) -> State:
    """What can only be judged once the fold is over: annulments that named nothing, and conflicting
    ids. The result is `state` itself, or a shallow copy with the extra anomalies, so that a state a
    long-running projector keeps folding is never touched."""
    orphans = [fact for fact in annulments if fact.violation_id not in state.pending]
    conflicts = list(conflicts)
    if not orphans and not conflicts:
        return state
    state = copy.copy(state)
    state.anomalies = list(state.anomalies)
    for fact in orphans:
        anomaly(state, fact.id, fact.at, f"no report or suspicion {fact.violation_id}: nothing to annul")
    for keep, drop in conflicts:
        anomaly(
            state, drop.id, drop.at, f"two different facts share id {drop.id}; kept the {keep.source} one"
        )
    return state
