"""`hotline produce` over files of any size: read and published a window of lines at a time.

Each window goes through the checks of one batch (producers.publish_facts: syntax, role, ids,
references) and is sent before the next is read, so a run holds one window, the lines waiting (below)
and the publisher's index of the topic, not the files.

A batch accepts a line that names an entity introduced further on in the same input, and so does a
streamed run: a line naming a key that neither the topic nor the rest of its window introduces waits
(producers.ingest_window.Waiting, as in the embedded ingest) and is published in the round after a
later line introduced its key, with the usual check that the key was introduced at or before the
line's own time. At most WAITING lines wait; past that, the oldest is judged at once, and what still
waits at the end of the run is judged then: refused for its unknown reference, unless another
producer introduced the key meanwhile. One difference from a batch read whole: a waiting line
claims its id only when it is published, so a later line reusing the id with other content is
published first, and the waiting line is then refused for the id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from producers.ingest_window import Need, Waiting, introductions, unknown_keys
from producers.publish_checks import Candidate
from producers.publish_facts import FactPublisher
from producers.publish_report import PublishReport
from producers.sources import check_source, source_windows

PART = 20_000  # lines per window
WAITING = 100_000  # lines that may wait for a key at once
KEPT = 1_000  # rejections kept in the run's report for the console (all are on the rejects topic)


def produce_files(
    publisher: FactPublisher,
    paths: list[Path],
    part: int = PART,
    cap: int = WAITING,
    progress: Callable[[int], None] | None = None,
) -> PublishReport:
    """Publish every line of `paths`; raises SourceError (before anything is published) for a file
    that cannot be read as a whole, PublishError as `FactPublisher.publish_sources` does.
    `progress` is told the bytes of each window read (a progress bar)."""
    for path in paths:
        check_source(path)
    run = _Run(publisher, [str(path) for path in paths], Waiting(cap))
    for path in paths:
        for window in source_windows(path, part, progress):
            started = time.perf_counter()
            report = run.report()
            candidates = publisher.checked([window], report)
            ready: list[Candidate] = []
            for candidate, needs in zip(candidates, _held(publisher, candidates), strict=True):
                if needs:
                    ready += run.waiting.add(candidate, needs)  # pushed past the cap: judged now
                else:
                    ready.append(candidate)
            run.land(ready, report, started)
    for rest in run.waiting.drain(part):
        run.land(rest, run.report(), time.perf_counter())
    return run.total


class _Run:
    def __init__(self, publisher: FactPublisher, names: list[str], waiting: Waiting[Candidate]) -> None:
        self.publisher, self.names, self.waiting = publisher, names, waiting
        self.total = self.report()

    def report(self) -> PublishReport:
        return PublishReport(
            facts_topic=self.publisher.facts_topic, rejects_topic=self.publisher.rejects_topic
        )

    def land(self, candidates: list[Candidate], report: PublishReport, started: float) -> None:
        """Publish `candidates` (and `report`'s rejections), then, round by round, the waiting lines
        that what was published lets through."""
        while True:
            landed = self.publisher.land(candidates, report, self.names, started)
            self._add(report)
            candidates = self.waiting.released_by(landed)
            if not candidates:
                return
            report, started = self.report(), time.perf_counter()

    def _add(self, report: PublishReport) -> None:
        total = self.total
        total.read += report.read
        total.published += report.published
        total.duplicates += report.duplicates
        total.rejects_published += report.rejects_published
        total.check_seconds += report.check_seconds
        total.send_seconds += report.send_seconds
        room = max(0, KEPT - len(total.rejected))
        total.rejected += report.rejected[:room]
        if dropped := report.rejected[room:]:
            kept_lines = {(r.file, r.line) for r in report.rejected[:room]}
            total.more_rejections += len(dropped)
            total.more_lines += len({(r.file, r.line) for r in dropped} - kept_lines)


def _held(publisher: FactPublisher, candidates: list[Candidate]) -> list[set[Need]]:
    """For each candidate, the keys it names that neither the topic nor a candidate of the window
    that does not wait itself introduces (empty: it is judged now). The topic is read again first
    when something is missing (another producer may have just introduced it)."""
    needs = _needs(publisher, candidates)
    if any(needs):
        publisher.catch_up()
        needs = _needs(publisher, candidates)
    return needs


def _needs(publisher: FactPublisher, candidates: list[Candidate]) -> list[set[Need]]:
    known = introductions(candidates)
    while True:  # a line that waits introduces nothing yet: what relied on it waits too
        needs = [unknown_keys(c.fact, publisher.introduced, known) for c in candidates]
        fewer = introductions(c for c, n in zip(candidates, needs, strict=True) if not n)
        if fewer.keys() == known.keys():
            return needs
        known = fewer
