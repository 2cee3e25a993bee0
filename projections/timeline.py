"""Where a projector keeps the facts and its checkpoints: two small protocols and their in-memory forms.

A `Timeline` holds one fact per id in the fold's event order, and reads back only the stretch after a
position (what a refold needs). `Checkpoints` holds frozen states by position. The in-memory forms
serve tests and short-lived processes; `storage.sqlite` keeps both on disk for the embedded log, the
workers and the API, so a long-running process holds neither every fact nor every checkpoint.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from projections.checkpoint import CorruptCheckpoint, Position, end_of
from projections.fold import sort_key
from schemas.facts import Fact

log = logging.getLogger("hotline.projector")
Sound = TypeVar("Sound")


class Timeline(Protocol):
    def get(self, fact_id: str) -> Fact | None: ...
    def get_many(self, fact_ids: Iterable[str]) -> dict[str, Fact]:
        """The facts held under these ids (absent ids are left out)."""

    def put(self, facts: Iterable[Fact]) -> None:
        """Store facts: new ids, or the version of an id that replaces the one held."""

    def after(self, position: Position | None, until: datetime | None = None) -> Iterator[list[Fact]]:
        """The facts after `position` (all when None) and at or before `until`, in event order, in batches."""

    def scan(self, position: Position | None, kinds: Collection[type[Fact]]) -> Iterator[list[Fact]]:
        """The facts after `position` of the given kinds, in batches, in no particular order: a check
        that reads each fact on its own (projections.annulment) decodes no other kind."""

    def __len__(self) -> int: ...


@dataclass(frozen=True)
class Spacing:
    """When a fold takes a checkpoint: after `min_facts` facts at least, and once the fold time since
    the last one is `cost_ratio` times what that one cost (so checkpoints cost at most ~1/ratio).

    Live, that is sparse (a day of a line's traffic folds in milliseconds), so with `every` a fold
    also takes one per `every` of event time, when the wall time since the last one is `live_ratio`
    times what it cost: dense recent checkpoints for annulments of recent violations, at most about
    1/live_ratio of the process's time, and hardly any more while catching up."""

    min_facts: int = 20_000
    cost_ratio: float = 4.0
    every: timedelta | None = None
    live_ratio: float = 20.0


@dataclass
class Refold:
    """What a projector's last refold did (status endpoints, benchmarks)."""

    since: Position | None  # the checkpoint it started from (None: the empty state)
    facts: int  # facts refolded
    seconds: float


@dataclass(frozen=True)
class Checkpoint:
    position: Position | None
    facts: int  # distinct facts folded in
    blob: bytes


class Checkpoints(Protocol):
    def save(self, checkpoint: Checkpoint) -> None: ...
    def before(self, bound: Position | None) -> Iterator[Checkpoint]:
        """Checkpoints with a position strictly before `bound` (every one when None), newest first."""

    def positions(self) -> list[tuple[Position, int]]:
        """(position, facts folded in) of every checkpoint, oldest first; no blob is read."""

    def drop_from(self, position: Position) -> None:
        """Forget the checkpoints at or after `position`: a change there made them wrong."""

    def discard(self, checkpoint: Checkpoint) -> None: ...


class MemoryTimeline:
    def __init__(self) -> None:
        self.by_id: dict[str, Fact] = {}
        self._keys: list[Position] = []  # sorted; parallel to _facts
        self._facts: list[Fact] = []

    def get(self, fact_id: str) -> Fact | None:
        return self.by_id.get(fact_id)

    def get_many(self, fact_ids: Iterable[str]) -> dict[str, Fact]:
        by_id = self.by_id
        return {i: by_id[i] for i in fact_ids if i in by_id}

    def put(self, facts: Iterable[Fact]) -> None:
        keys, ordered = self._keys, self._facts
        for fact in facts:
            old = self.by_id.get(fact.id)
            if old is not None:
                i = bisect.bisect_left(keys, sort_key(old))
                del keys[i], ordered[i]
            self.by_id[fact.id] = fact
            key = sort_key(fact)
            if not keys or key > keys[-1]:  # the common case on a live line: appended in order
                keys.append(key)
                ordered.append(fact)
            else:
                i = bisect.bisect_left(keys, key)
                keys.insert(i, key)
                ordered.insert(i, fact)

    def after(self, position: Position | None, until: datetime | None = None) -> Iterator[list[Fact]]:
        start = 0 if position is None else bisect.bisect_right(self._keys, position)
        end = len(self._keys)
        if until is not None:
            end = bisect.bisect_right(self._keys, end_of(until))
        for i in range(start, end, 50_000):
            yield self._facts[i : min(end, i + 50_000)]

    def scan(self, position: Position | None, kinds: Collection[type[Fact]]) -> Iterator[list[Fact]]:
        wanted = frozenset(kinds)
        for batch in self.after(position):
            yield [fact for fact in batch if type(fact) in wanted]

    def __len__(self) -> int:
        return len(self.by_id)

    def values(self) -> Iterable[Fact]:
        return self.by_id.values()


class MemoryCheckpoints:
    """At most `keep` checkpoints, thinned so that older ones lie further apart (roughly logarithmic):
    recent changes find a close checkpoint, old ones still find one."""

    def __init__(self, keep: int = 8) -> None:
        self.keep = max(keep, 2)
        self.saved: list[Checkpoint] = []  # by position

    def save(self, checkpoint: Checkpoint) -> None:
        self.saved.append(checkpoint)
        self.saved.sort(key=_order)
        while len(self.saved) > self.keep:
            del self.saved[thinned(self.saved)]

    def before(self, bound: Position | None) -> Iterator[Checkpoint]:
        for checkpoint in reversed(list(self.saved)):
            if bound is None or (checkpoint.position is not None and checkpoint.position < bound):
                yield checkpoint

    def positions(self) -> list[tuple[Position, int]]:
        return [(_order(c), c.facts) for c in self.saved]

    def drop_from(self, position: Position) -> None:
        self.saved = [c for c in self.saved if _order(c) < position]

    def discard(self, checkpoint: Checkpoint) -> None:
        self.saved = [c for c in self.saved if c is not checkpoint]


def _order(checkpoint: Checkpoint) -> tuple[datetime, int, str]:
    assert checkpoint.position is not None, "the empty state is never saved"
    return checkpoint.position


def thinned(saved: list[Checkpoint]) -> int:
    """The index to drop: the inner checkpoint whose removal leaves the smallest gap in facts, that gap
    weighed down by how far back it lies (the newest and the oldest are always kept)."""
    newest = saved[-1].facts
    best, best_score = 1, float("inf")
    for i in range(1, len(saved) - 1):
        gap = saved[i + 1].facts - saved[i - 1].facts
        age = newest - saved[i].facts + 1
        score = gap / age
        if score < best_score:
            best, best_score = i, score
    return best


def newest_sound(
    checkpoints: Checkpoints, bound: Position | None, check: Callable[[bytes], Sound]
) -> tuple[Checkpoint, Sound] | None:
    """The newest checkpoint strictly before `bound` that `check` (thaw, or verify) accepts, with what
    it gave; each one it refuses as corrupt is discarded with one log line. None when none is sound."""
    for checkpoint in checkpoints.before(bound):
        try:
            return checkpoint, check(checkpoint.blob)
        except CorruptCheckpoint as e:
            log.warning(
                "checkpoint at %s discarded (%s); falling back to an older one", checkpoint.position, e
            )
            checkpoints.discard(checkpoint)
    return None
