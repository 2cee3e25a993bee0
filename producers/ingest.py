"""Ingest JSON Lines files into the embedded log: valid facts land, bad lines go to a rejects file.

What lands is decided where it is written. The good lines are appended in parts of `PART` lines, each
in one write transaction that first checks its ids and references against the log as it is then
(`EmbeddedLog.writing`: no other writer in between). So a fact that another writer put on the log
meanwhile under the same id with other content is refused and reported like any conflict, never
dropped, and a reader or a `check` waiting to record its answer waits for one part, not for the run.

A line may refer to a line after it (in any file of the run): such a line is appended in the part of
the last line it relies on, after it. A failure part-way (the log stayed locked, the disk is full)
raises IngestStopped, whose report holds what the committed parts appended and every line refused so
far: the caller still writes the rejects file; the lines not yet appended are neither on the log nor
refused, and ingesting the same files again appends exactly them (the rest are re-sends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import msgspec

from domain.references import ENTITY_KEYS, REFERENCES, admit_references
from producers.validate import Rejection, parse_lines
from schemas.codec import to_msgpack
from schemas.facts import FACT_TYPES, Fact
from schemas.upcast import same_fact
from storage.log import EmbeddedLog, LogWriteError

#: Lines per write transaction: a few tenths of a second of writing, the longest another writer waits.
PART = 20_000
_CONFLICT = "id {!r} is already used by a different fact"


@dataclass
class IngestReport:
    read: int = 0
    appended: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


class IngestStopped(Exception):
    """The run stopped part-way; `report` holds what was appended and refused before it stopped."""

    def __init__(self, message: str, report: IngestReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(slots=True)
class _Line:
    file: str
    line: int
    fact: Fact
    body: bytes

    def rejection(self, field: str | None, reason: str) -> Rejection:
        return Rejection(file=self.file, line=self.line, field=field, reason=reason, raw=_raw(self.fact))


def _tiers() -> dict[type[Fact], int]:
    """0 for a fact that refers to nothing, else one more than the facts introducing what it names."""
    introducer = {kind: t for t, (kind, _) in ENTITY_KEYS.items()}
    tiers: dict[type[Fact], int] = {}

    def tier(t: type[Fact]) -> int:
        if t not in tiers:
            tiers[t] = 1 + max((tier(introducer[kind]) for _, kind in REFERENCES.get(t, ())), default=-1)
        return tiers[t]

    for t in FACT_TYPES:
        tier(t)
    return tiers


_TIER = _tiers()


def settle_ids(lines: list[_Line], stored: dict[str, bytes]) -> tuple[list[_Line], list[_Line]]:
    """(kept, conflicting): per id, the version the log holds, else that of the run's first line;
    a line with another version conflicts. A re-sent line is kept (appending counts it a duplicate)."""
    version: dict[str, bytes] = {}
    kept: list[_Line] = []
    conflicting: list[_Line] = []
    for item in lines:
        body = version.setdefault(item.fact.id, stored.get(item.fact.id, item.body))
        (kept if same_fact(body, item.body) else conflicting).append(item)  # old records upcast
    return kept, conflicting


def admit_run(log: EmbeddedLog, lines: list[_Line]) -> tuple[list[_Line], list[Rejection]]:
    """Id and reference checks over the whole run against the log as it is now (each part is checked
    again as it is written). A line refused for its references claims no id: the ids are settled
    again without it, so a later line with that id and other content can still land."""
    stored = log.stored_bodies(item.fact.id for item in lines)
    on_log = _introductions_on_log(log, lines)
    refused: list[tuple[_Line, list[tuple[str, str]]]] = []
    while True:
        kept, conflicting = settle_ids(lines, stored)
        admitted, bad = admit_references(kept, _fact, lambda kind, key: on_log.get(kind, {}).get(key))
        if not bad:
            break
        refused += bad
        gone = {id(item) for item, _ in bad}
        lines = [item for item in lines if id(item) not in gone]
    rejected = [item.rejection(attr, reason) for item, problems in refused for attr, reason in problems]
    rejected += [
        item.rejection("id", f"id {item.fact.id!r} is already used by a different fact")
        for item in conflicting
    ]
    return admitted, rejected


def _fact(item: _Line) -> Fact:
    return item.fact


def _introductions_on_log(log: EmbeddedLog, lines: list[_Line]) -> dict[str, dict[str, datetime]]:
    """Kind -> key -> when the log first introduces it, for every key the lines refer to."""
    wanted: dict[str, set[str]] = {}
    for item in lines:
        for attr, kind in REFERENCES.get(type(item.fact), ()):
            if (key := getattr(item.fact, attr)) is not None:
                wanted.setdefault(kind, set()).add(key)
    return {kind: log.introduced(kind, keys) for kind, keys in wanted.items()}


def landing_order(lines: list[_Line]) -> list[_Line]:
    """File order, except that a line relying on a later line of the run (an account its company, a
    call its account...) moves right after the last line it relies on. Every part then holds or
    follows what its lines rely on, so a part's check never depends on a part not yet written."""
    ready = list(range(len(lines)))
    ready_of: dict[tuple[str, str], int] = {}  # entity -> the latest place a line introducing it lands
    for i in sorted(range(len(lines)), key=lambda i: _TIER[type(lines[i].fact)]):
        fact = lines[i].fact
        for attr, kind in REFERENCES.get(type(fact), ()):
            if (key := getattr(fact, attr)) is not None:
                ready[i] = max(ready[i], ready_of.get((kind, key), -1))
        if (entity := ENTITY_KEYS.get(type(fact))) is not None:
            introduced = (entity[0], getattr(fact, entity[1]))
            ready_of[introduced] = max(ready_of.get(introduced, -1), ready[i])
    order = sorted(range(len(lines)), key=lambda i: (ready[i], _TIER[type(lines[i].fact)], i))
    return [lines[i] for i in order]


def land(log: EmbeddedLog, part: list[_Line], report: IngestReport) -> None:
    """Check one part against the log as it is inside the write transaction, and append what holds:
    what another writer added since `admit_run` looked is judged here, and reported line by line."""
    with log.writing():
        stored = log.stored_bodies(item.fact.id for item in part)
        fresh, conflicting = settle_ids(part, stored)
        for item in conflicting:
            report.rejected.append(item.rejection("id", _CONFLICT.format(item.fact.id)))
        on_log = _introductions_on_log(log, fresh)
        kept, refused = admit_references(fresh, _fact, lambda kind, key: on_log.get(kind, {}).get(key))
        for item, problems in refused:
            report.rejected += [item.rejection(attr, reason) for attr, reason in problems]
        result = log.append(item.fact for item in kept)
    # Inside the transaction nothing can have changed since the check: a conflict here is a bug.
    assert not result.conflicts, result.conflicts
    report.appended += result.appended
    report.duplicates += result.duplicates


def _raw(fact: Fact) -> str:
    return msgspec.json.encode(fact).decode()


def _counted(lines: Iterable[bytes], progress: Callable[[int], None] | None) -> Iterator[bytes]:
    pending = 0
    for line in lines:
        pending += len(line)
        if progress is not None and pending >= 1 << 16:  # tell the bar every 64 KiB, not every line
            progress(pending)
            pending = 0
        yield line
    if progress is not None:
        progress(pending)


def ingest_files(
    log: EmbeddedLog,
    paths: list[Path],
    progress: Callable[[int], None] | None = None,
    part: int = PART,
    seal: Callable[[list[Fact]], list[Fact]] | None = None,
) -> IngestReport:
    """Parse and check every file, then append the good facts a part at a time (module docstring).

    `progress` is told how many bytes were read, for a progress bar. `seal` (a sealed log:
    KeyStore.seal_all) turns a file's facts into what is stored, its keys on disk before they land.
    Raises IngestStopped when a part could not be written."""
    report = IngestReport()
    lines: list[_Line] = []
    for path in paths:
        with path.open("rb") as stream:
            facts, rejected = parse_lines(_counted(stream, progress), str(path))
        report.read += len(facts) + len({r.line for r in rejected})
        report.rejected += rejected
        if seal is not None:
            facts = list(zip([n for n, _ in facts], seal([fact for _, fact in facts]), strict=True))
        lines += [_Line(str(path), line, fact, to_msgpack(fact)) for line, fact in facts]
    try:
        admitted, rejected = admit_run(log, lines)
        report.rejected += rejected
        ordered = landing_order(admitted)
        for start in range(0, len(ordered), part):
            land(log, ordered[start : start + part], report)
    except LogWriteError as e:
        raise IngestStopped(f"{e} ({report.appended} facts appended before it stopped)", report) from None
    finally:
        files = {str(path): i for i, path in enumerate(paths)}
        report.rejected.sort(key=lambda r: (files.get(r.file, 0), r.line))
    return report


def write_rejects(path: Path, rejected: list[Rejection]) -> None:
    """The run's rejects: the file is replaced, never appended to across runs."""
    with path.open("wb") as out:
        for rejection in rejected:
            out.write(msgspec.json.encode(rejection) + b"\n")
