"""The pieces of a streaming ingest (producers.ingest) and a streaming produce (producers.produce_files):
a file read a window of lines at a time, and the lines kept waiting for a key that a later line of
the run may introduce."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import msgspec

from domain.references import ENTITY_KEYS, REFERENCES
from producers.event_time import EventTimeBounds
from producers.validate import Rejection, parse_lines
from schemas.facts import Fact

#: What a line waits for: (entity kind, key), e.g. ("account", "A1").
Need = tuple[str, str]


class Carrying(Protocol):
    """A line of a run, as anything that holds its parsed fact (an ingest's `_Line`, a Candidate)."""

    @property
    def fact(self) -> Fact: ...


L = TypeVar("L", bound=Carrying)


@dataclass(slots=True)
class _Line:
    file: str
    line: int
    fact: Fact
    body: bytes

    def rejection(self, field: str | None, reason: str) -> Rejection:
        return Rejection(file=self.file, line=self.line, field=field, reason=reason, raw=_raw(self.fact))


def _raw(fact: Fact) -> str:
    return msgspec.json.encode(fact).decode()


def introductions(lines: Iterable[Carrying]) -> dict[Need, datetime]:
    """(kind, key) -> the earliest event time at which one of `lines` introduces it."""
    out: dict[Need, datetime] = {}
    for item in lines:
        if (entity := ENTITY_KEYS.get(type(item.fact))) is not None:
            need = (entity[0], getattr(item.fact, entity[1]))
            if need not in out or item.fact.at < out[need]:
                out[need] = item.fact.at
    return out


def unknown_keys(fact: Fact, on_log: dict[str, dict[str, datetime]], known: Container[Need]) -> set[Need]:
    """The keys `fact` names that neither the log (`on_log`: kind -> key -> time) nor `known` introduce."""
    out: set[Need] = set()
    for attr, kind in REFERENCES.get(type(fact), ()):
        key = getattr(fact, attr)
        if key is not None and key not in on_log.get(kind, {}) and (kind, key) not in known:
            out.add((kind, key))
    return out


class Waiting(Generic[L]):
    """Lines naming a key nothing has introduced yet, oldest first, each with the keys it still needs.

    At most `cap` lines wait: past it the oldest is handed back to be judged at once (refused, unless
    its keys reached the log meanwhile), so memory stays bounded whatever the file. Lists, not sets,
    hold the keys (nearly always one): a waiting line costs a few hundred bytes beside its fact."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._lines: OrderedDict[int, tuple[L, list[Need]]] = OrderedDict()  # O(1) pop of the oldest
        self._by_need: dict[Need, list[int]] = {}  # may name lines gone past the cap: skipped, then compacted
        self._gone = 0
        self._next = 0

    def __len__(self) -> int:
        return len(self._lines)

    def add(self, item: L, needs: set[Need]) -> list[L]:
        """Keep `item` until `needs` are introduced; returns the oldest lines pushed past the cap."""
        seq, self._next = self._next, self._next + 1
        self._lines[seq] = (item, list(needs))
        for need in needs:
            self._by_need.setdefault(need, []).append(seq)
        evicted = []
        while len(self._lines) > self.cap:
            _, (oldest, left) = self._lines.popitem(last=False)
            self._gone += len(left)
            evicted.append(oldest)
        if self._gone > len(self._lines) + 10_000:  # amortised: rebuilt once per as many evictions
            self._by_need = {}
            for seq, (_, left) in self._lines.items():
                for need in left:
                    self._by_need.setdefault(need, []).append(seq)
            self._gone = 0
        return evicted

    def released_by(self, landed: Iterable[Carrying]) -> list[L]:
        """The waiting lines that need nothing more now that `landed` are on the log, oldest first."""
        ready = []
        for need in introductions(landed):
            for seq in self._by_need.pop(need, ()):
                if (entry := self._lines.get(seq)) is None:
                    continue  # went past the cap
                entry[1].remove(need)
                if not entry[1]:
                    ready.append(seq)
        return [self._lines.pop(seq)[0] for seq in sorted(ready)]

    def drain(self, size: int) -> Iterator[list[L]]:
        """Every line still waiting, oldest first, `size` at a time (the run has ended): each part is
        let go of once judged."""
        self._by_need.clear()
        while self._lines:
            yield [self._lines.popitem(last=False)[1][0] for _ in range(min(size, len(self._lines)))]


def counted(lines: Iterable[bytes], progress: Callable[[int], None] | None) -> Iterator[bytes]:
    pending = 0
    for line in lines:
        pending += len(line)
        if progress is not None and pending >= 1 << 16:  # tell the bar every 64 KiB, not every line
            progress(pending)
            pending = 0
        yield line
    if progress is not None:
        progress(pending)


def windows(
    path: Path,
    size: int,
    progress: Callable[[int], None] | None,
    received: datetime,
    bounds: EventTimeBounds,
) -> Iterator[tuple[list[tuple[int, Fact]], list[Rejection]]]:
    """The file's lines parsed `size` at a time, numbered from the file's first line."""
    with path.open("rb") as stream:
        lines = counted(stream, progress)
        first = 1
        while chunk := list(islice(lines, size)):
            yield parse_lines(chunk, str(path), received, bounds, first=first)
            first += len(chunk)
