"""Warm checkpoints: a few checkpoints kept thawed in memory, so that a refold can start at once.

A refold restores a checkpoint and folds what follows. The restore is a thaw: at 621k facts about a
second, as long as folding 150k facts, and the same for a 10-minute-late fact as for a month-old
annulment. A warm checkpoint is that thaw done ahead of time, while the process has nothing else to
do: the projector takes it instead of thawing, and thaws its replacement afterwards (`Projector.prepare`).

Each warm checkpoint has a `reach`: it is the newest checkpoint at least `reach` before the latest
fact. A reach of zero serves late facts and back-dated lifts (minutes or hours back); a reach of
35 days serves annulments of violations confirmed up to 35 days back (RULES.md: staff annul a
violation on appeal, typically within weeks). A warm state is used once, since the refold folds on
into it, and is exactly what a thaw of its checkpoint gives: it is thrown away whenever that
checkpoint would be (a change at or before its position), so the projector still equals `project()`.

The price is memory: each warm checkpoint is one more whole `State` (see docs/checkpoints.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.policy_history import PolicyHistory
from projections.checkpoint import CorruptCheckpoint, Position, start_of, thaw
from projections.state import State
from projections.timeline import Checkpoint, Checkpoints

#: A warm checkpoint older than the one a refold would thaw is still taken while the extra facts it
#: refolds cost less than that thaw: at ~150k facts/s a thaw of ~1 s is worth about this many.
WORTH_A_THAW = 100_000


@dataclass(frozen=True)
class Warm:
    position: Position
    facts: int  # distinct facts folded in
    state: State


@dataclass(frozen=True)
class Preparation:
    """Which checkpoints to thaw for which reach; `ticket` names it while it is pending (a change
    made meanwhile, at or before a checkpoint, voids that checkpoint's thaw)."""

    wanted: tuple[tuple[timedelta, Checkpoint], ...]
    ticket: int


class WarmCheckpoints:
    def __init__(self, reaches: Iterable[timedelta] = ()) -> None:
        self.reaches = tuple(sorted(set(reaches)))
        self.held: dict[timedelta, Warm] = {}
        # Pending preparation -> the earliest change made since it was planned (None: none yet).
        self._pending: dict[int, Position | None] = {}
        self._tickets = 0
        self.taken = 0  # refolds that started from a warm checkpoint (status, benchmarks)

    def __len__(self) -> int:
        return len(self.held)

    def take(self, bound: Position | None, checkpoints: Checkpoints) -> Warm | None:
        """The newest warm state strictly before `bound`, if worth folding from rather than thawing
        the newest checkpoint before `bound`; it leaves the pool."""
        fits = [(reach, w) for reach, w in self.held.items() if bound is None or w.position < bound]
        if not fits:
            return None
        reach, warm = max(fits, key=lambda item: item[1].position)
        best = [n for p, n in checkpoints.positions() if (bound is None or p < bound) and p > warm.position]
        if best and max(best) - warm.facts >= WORTH_A_THAW:
            return None
        del self.held[reach]
        self.taken += 1
        return warm

    def drop_from(self, position: Position) -> list[Warm]:
        """A change at `position`: every warm state at or after it is wrong now, as its checkpoint is.
        Returns them, for the caller to free when it has time."""
        for ticket, earliest in self._pending.items():
            if earliest is None or position < earliest:
                self._pending[ticket] = position
        return [self.held.pop(r) for r in [r for r, w in self.held.items() if w.position >= position]]

    def plan(self, checkpoints: Checkpoints, latest: datetime | None) -> Preparation:
        """For each reach whose warm state is missing or older than the checkpoint it now calls for:
        that checkpoint (the newest before `latest - reach`)."""
        wanted: list[tuple[timedelta, Checkpoint]] = []
        if latest is None:
            return Preparation((), 0)
        saved = checkpoints.positions()
        for reach in self.reaches:
            bound = start_of(latest - reach) if reach else None
            older = [p for p, _ in saved if bound is None or p < bound]
            held = self.held.get(reach)
            if not older or (held is not None and held.position >= older[-1]):
                continue
            newest = next(iter(checkpoints.before(bound)), None)  # reads the one blob
            if newest is not None and newest.position is not None:
                wanted.append((reach, newest))
        if not wanted:
            return Preparation((), 0)
        self._tickets += 1
        self._pending[self._tickets] = None
        return Preparation(tuple(wanted), self._tickets)

    def install(self, preparation: Preparation, thawed: Iterable[tuple[timedelta, Warm]]) -> int:
        """Keep each thawed state unless a change since the plan was made lies at or before it;
        returns how many were kept. Call it once per plan that wanted something, thawed or not."""
        earliest = self._pending.pop(preparation.ticket, None)
        kept = 0
        for reach, warm in thawed:
            if earliest is None or earliest > warm.position:
                self.held[reach] = warm
                kept += 1
        return kept


def thaw_planned(plan: Preparation, history: PolicyHistory) -> list[tuple[timedelta, Warm]]:
    """The planned checkpoints, thawed. Touches nothing of the projector's: safe on another thread."""
    thawed = []
    for reach, checkpoint in plan.wanted:
        try:
            state, at, facts = thaw(checkpoint.blob, history)
        except CorruptCheckpoint:
            continue  # the refold that needs it will find it corrupt, discard it and say so
        if at is not None:
            thawed.append((reach, Warm(at, facts, state)))
    return thawed
