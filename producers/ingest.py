"""Ingest JSON Lines files into the embedded log: valid facts land, bad lines go to a rejects file."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

import msgspec

from domain.references import REFERENCES, admit_references
from producers.validate import Rejection, parse_lines
from schemas.codec import to_msgpack
from schemas.facts import Fact
from storage.log import EmbeddedLog


@dataclass
class IngestReport:
    read: int = 0
    appended: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def admit_batch(log: EmbeddedLog, parsed: list[tuple[str, int, Fact]]) -> tuple[list[Fact], list[Rejection]]:
    """Id and reference checks against the log plus the batch. A reference may point to any line of
    the batch, whatever its place, but only to a line that is itself accepted
    (domain.references.admit_references)."""
    rejected: list[Rejection] = []
    bodies: dict[str, bytes] = {}
    candidates: list[tuple[str, int, Fact]] = []
    for file, line, fact in parsed:
        body = to_msgpack(fact)
        earlier = bodies.get(fact.id) or log.stored_body(fact.id)
        if earlier is not None and earlier != body:
            reason = f"id {fact.id!r} is already used by a different fact"
            rejected.append(Rejection(file=file, line=line, field="id", reason=reason, raw=_raw(fact)))
            continue
        bodies[fact.id] = body
        candidates.append((file, line, fact))
    wanted: dict[str, set[str]] = defaultdict(set)
    for _, _, fact in candidates:
        for key, kind in _refs(fact):
            wanted[kind].add(key)
    stored = {kind: log.known(kind, keys) for kind, keys in wanted.items()}

    def in_log(kind: str, key: str) -> bool:
        return key in stored.get(kind, ())

    kept, refused = admit_references(candidates, itemgetter(2), in_log)
    for (file, line, fact), problems in refused:
        raw = _raw(fact)
        rejected += [Rejection(file=file, line=line, field=a, reason=r, raw=raw) for a, r in problems]
    return [fact for _, _, fact in kept], rejected


def _raw(fact: Fact) -> str:
    return msgspec.json.encode(fact).decode()


def _refs(fact: Fact) -> Iterable[tuple[str, str]]:
    for attr, kind in REFERENCES.get(type(fact), ()):
        if (key := getattr(fact, attr)) is not None:
            yield key, kind


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
) -> IngestReport:
    """Parse and check every file, then append the good facts in one transaction.

    `progress` is told how many bytes were read, for a progress bar."""
    report = IngestReport()
    parsed: list[tuple[str, int, Fact]] = []
    for path in paths:
        with path.open("rb") as lines:
            facts, rejected = parse_lines(_counted(lines, progress), str(path))
        report.read += len(facts) + len({r.line for r in rejected})
        report.rejected += rejected
        parsed += [(str(path), line, fact) for line, fact in facts]
    good, rejected = admit_batch(log, parsed)
    report.rejected += rejected
    result = log.append(good)
    report.appended, report.duplicates = result.appended, result.duplicates
    return report


def write_rejects(path: Path, rejected: list[Rejection]) -> None:
    with path.open("ab") as out:
        for rejection in rejected:
            out.write(msgspec.json.encode(rejection) + b"\n")
