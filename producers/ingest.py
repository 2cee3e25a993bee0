"""Ingest JSON Lines files into the embedded log: valid facts land, bad lines go to a rejects file.

The run streams: each file is read, parsed and landed a window of `PART` lines at a time, so memory
does not grow with the file. What lands is decided where it is written: a window is checked against
the log as it is then, inside one write transaction (`EmbeddedLog.writing`: no other writer in
between), and what holds is appended there. An id the log holds with the same content is a duplicate;
with other content a conflict refused on field `id`, also when another writer put it there
meanwhile. So of two lines of the run with one id the first version lands and the other is a
duplicate or a conflict; a reader, or a `check` waiting to record its answer, waits for one window,
not for the run.

A line may refer to a line after it (in any file of the run). A line naming a key that neither the
log nor its window introduces waits, set aside, and is checked again, and appended after them, once
lines introducing what it names have landed; the event-time rule then applies as to any line (an
account opened after the call still refuses the call). Lines still waiting when the run ends are
refused, with the reason they would have had in one batch. Like a line refused for its references,
a waiting line claims no id.

What differs from checking the run whole, as ingest did before it streamed: (1) at most `WAITING`
lines wait at once; past it, the oldest waiting line is judged at once, so it is refused (with the
usual reason) even though a line further down might have introduced what it names; (2) a later line
with the id of a waiting line and other content lands, and the waiting line is then a conflict
(whole, the first version won); (3) a key the log already holds is judged by the event time there: a
line further down introducing the same key again, earlier in event time, does not save a line dated
before the first introduction. (2) and (3) take a sender contradicting itself.

A failure part-way (the log stayed locked, the disk is full) raises IngestStopped, whose report holds
what the committed windows appended and every line refused so far: the caller still writes the
rejects file; the lines not yet appended (unread, or waiting) are neither on the log nor refused, and
ingesting the same files again appends exactly them (the rest are re-sends). Refused lines are kept
in `IngestReport.rejected`, or, given a `refused` callback (the CLI's rejects file), handed to it as
they are found, only the first few kept in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from domain.references import REFERENCES, admit_references, unknown_references
from producers.event_time import EventTimeBounds
from producers.ingest_window import Need, Waiting, _Line, introductions, unknown_keys, windows
from producers.validate import Rejection
from schemas.codec import to_msgpack
from schemas.facts import Fact
from schemas.upcast import same_fact
from storage.log import EmbeddedLog, LogWriteError

#: Lines per window and per write transaction: a few tenths of a second of writing, the longest
#: another writer waits.
PART = 20_000
#: Lines that may wait at once for a key a later line introduces (a few hundred bytes each).
WAITING = 100_000
#: With a `refused` callback, the refusals kept in the report as well (the callback has them all).
KEPT = 100
_CONFLICT = "id {!r} is already used by a different fact"


@dataclass
class IngestReport:
    read: int = 0
    appended: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)  # all of them, or the first KEPT (`sink`)
    refusals: int = 0  # every refusal of the run (one per problem), kept or not
    sink: Callable[[Rejection], None] | None = field(default=None, repr=False, compare=False)

    def refuse(self, rejections: Iterable[Rejection]) -> None:
        for rejection in rejections:
            self.refusals += 1
            if self.sink is not None:
                self.sink(rejection)
            if self.sink is None or len(self.rejected) < KEPT:
                self.rejected.append(rejection)


class IngestStopped(Exception):
    """The run stopped part-way; `report` holds what was appended and refused before it stopped."""

    def __init__(self, message: str, report: IngestReport) -> None:
        super().__init__(message)
        self.report = report


def settle_ids(lines: list[_Line], stored: dict[str, bytes]) -> tuple[list[_Line], list[_Line]]:
    """(kept, conflicting): per id, the version the log holds, else that of the first line; a line with
    another version conflicts. A re-sent line is kept (appending counts it a duplicate)."""
    version: dict[str, bytes] = {}
    kept: list[_Line] = []
    conflicting: list[_Line] = []
    for item in lines:
        body = version.setdefault(item.fact.id, stored.get(item.fact.id, item.body))
        (kept if same_fact(body, item.body) else conflicting).append(item)  # old records upcast
    return kept, conflicting


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


def land(
    log: EmbeddedLog, part: list[_Line], report: IngestReport, *, waits: bool = False
) -> tuple[list[_Line], list[tuple[_Line, set[Need]]]]:
    """Check one part against the log as it is inside the write transaction, append what holds and
    report what is refused, line by line. Returns (kept, waiting): the lines appended or found on the
    log, and, with `waits`, the lines naming a key neither the log nor the part introduces, with those
    keys (without `waits` they are refused). A line refused or set aside claims no id: the ids are
    settled again without it."""
    waiting: list[tuple[_Line, set[Need]]] = []
    refused: list[tuple[_Line, str | None, str]] = []
    with log.writing():
        stored = log.stored_bodies(item.fact.id for item in part)
        on_log = _introductions_on_log(log, part)
        in_part = introductions(part)

        def elsewhere(kind: str, key: str) -> datetime | None:
            return on_log.get(kind, {}).get(key)

        def anywhere(kind: str, key: str) -> datetime | None:
            found = [t for t in (in_part.get((kind, key)), elsewhere(kind, key)) if t is not None]
            return min(found, default=None)

        lines = []
        for item in part:  # a key nothing here introduces: waits, or is refused before it claims an id
            if not (needs := unknown_keys(item.fact, on_log, in_part)):
                lines.append(item)
            elif waits:
                waiting.append((item, needs))
            else:
                refused += [(item, a, r) for a, r in unknown_references(item.fact, anywhere)]
        while True:
            kept, conflicting = settle_ids(lines, stored)
            kept, bad = admit_references(kept, _fact, elsewhere)
            if not bad:
                break
            known = introductions(kept)  # what is left unknown may still come from a later line
            for item, problems in bad:
                if waits and (needs := unknown_keys(item.fact, on_log, known)):
                    waiting.append((item, needs))
                else:
                    refused += [(item, a, r) for a, r in problems]
            gone = {id(item) for item, _ in bad}
            lines = [item for item in lines if id(item) not in gone]
        result = log.append(item.fact for item in kept)
    # Inside the transaction nothing can have changed since the check: a conflict here is a bug.
    assert not result.conflicts, result.conflicts
    refused += [(item, "id", _CONFLICT.format(item.fact.id)) for item in conflicting]
    place = {id(item): i for i, item in enumerate(part)}
    refused.sort(key=lambda r: place[id(r[0])])  # stable: a line's problems keep their order
    report.refuse(item.rejection(attr, reason) for item, attr, reason in refused)
    report.appended += result.appended
    report.duplicates += result.duplicates
    return kept, waiting


def _land_window(
    log: EmbeddedLog, lines: list[_Line], waiting: Waiting[_Line], part: int, report: IngestReport
) -> None:
    """Land a window; set aside what waits; then land what it released (and what that released...),
    and judge the lines pushed past the waiting cap."""
    kept, later = land(log, lines, report, waits=True)
    judged: list[_Line] = []
    for item, needs in later:
        judged += waiting.add(item, needs)
    judged += waiting.released_by(kept)
    while judged:
        landed: list[_Line] = []
        for start in range(0, len(judged), part):
            landed += land(log, judged[start : start + part], report)[0]
        judged = waiting.released_by(landed)


def ingest_files(
    log: EmbeddedLog,
    paths: list[Path],
    progress: Callable[[int], None] | None = None,
    part: int | None = None,
    seal: Callable[[list[Fact]], list[Fact]] | None = None,
    refused: Callable[[Rejection], None] | None = None,
) -> IngestReport:
    """Read, check and append the files a window of `part` (default PART) lines at a time (module
    docstring).

    `progress` is told how many bytes were read, for a progress bar. `seal` (a sealed log:
    KeyStore.seal_all) turns a window's facts into what is stored, its keys on disk before they land.
    `refused`, when given, is handed every refusal as it is found (the report keeps the first KEPT).
    Raises IngestStopped when a part could not be written."""
    part = part or PART  # read at call time, like WAITING: a test may set them small
    report = IngestReport(sink=refused)
    waiting: Waiting[_Line] = Waiting(WAITING)
    received, bounds = datetime.now(UTC), EventTimeBounds.from_env()  # one clock for the whole run
    try:
        for path in paths:
            for facts, rejected in windows(path, part, progress, received, bounds):
                report.read += len(facts) + len({r.line for r in rejected})
                report.refuse(rejected)
                if seal is not None:
                    facts = list(zip([n for n, _ in facts], seal([fact for _, fact in facts]), strict=True))
                lines = [_Line(str(path), line, fact, to_msgpack(fact)) for line, fact in facts]
                _land_window(log, lines, waiting, part, report)
        # Nothing introduced what they name: refused, unless another writer did meanwhile.
        for rest in waiting.drain(part):
            land(log, rest, report)
    except LogWriteError as e:
        raise IngestStopped(f"{e} ({report.appended} facts appended before it stopped)", report) from None
    finally:
        files = {str(path): i for i, path in enumerate(paths)}
        report.rejected.sort(key=lambda r: (files.get(r.file, 0), r.line))
    return report
