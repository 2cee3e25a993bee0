"""The rejects file of a `hotline ingest` run, written in (file, line) order in bounded memory.

A streaming ingest finds refusals out of order (a line that waited for a later line is refused at the
end of the run), and there may be millions of them. They are buffered, and each full buffer is
sorted and spilled to a temporary file beside the rejects file; closing merges the sorted runs into
the rejects file. Only the first few, in order, are kept in memory for the console.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import msgspec

from producers.validate import Rejection

#: Refusals or bytes buffered before a sorted run is spilled to disk.
BUFFERED = 20_000
BUFFERED_BYTES = 16 << 20

#: (file's place in the run, line, order found): the order of the rejects file, never a tie.
_Key = tuple[int, int, int]


class RejectsFile:
    """Collects a run's refusals (`add`); leaving the `with` block writes them to `target` in (file,
    line) order."""

    def __init__(self, target: Path, files: list[str], shown: int = 20) -> None:
        self.target = target
        self.count = 0
        self._place = {name: i for i, name in enumerate(files)}
        self._shown = shown
        self._first: list[tuple[_Key, Rejection]] = []
        self._buffer: list[tuple[_Key, bytes]] = []
        self._buffered_bytes = 0
        self._runs: list[IO[bytes]] = []

    def add(self, rejection: Rejection) -> None:
        key = (self._place.get(rejection.file, 0), rejection.line, self.count)
        encoded = msgspec.json.encode(rejection)  # JSON escapes newlines: one line per refusal
        self.count += 1
        self._buffer.append((key, encoded))
        self._buffered_bytes += len(encoded)
        self._first.append((key, rejection))
        if len(self._first) >= 2 * self._shown:  # keep the first `shown` in order, amortised
            self._first = sorted(self._first, key=_by_key)[: self._shown]
        if len(self._buffer) >= BUFFERED or self._buffered_bytes >= BUFFERED_BYTES:
            self._spill()

    def first(self) -> list[Rejection]:
        """The first refusals in (file, line) order, for the console."""
        return [r for _, r in sorted(self._first, key=_by_key)[: self._shown]]

    def _spill(self) -> None:
        run = tempfile.TemporaryFile(dir=self.target.parent, prefix=".rejects-")  # noqa: SIM115 (open until the merge)
        for (place, line, seq), encoded in sorted(self._buffer, key=_by_key):
            run.write(b"%d %d %d %s\n" % (place, line, seq, encoded))
        run.seek(0)
        self._runs.append(run)
        self._buffer, self._buffered_bytes = [], 0

    def __enter__(self) -> RejectsFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        """Writes the file when the run ended or stopped (IngestStopped is caught inside); after an
        unexpected error only the temporary runs are removed, no half-made rejects file is left."""
        try:
            if kind is None:
                self.write()
        finally:
            for run in self._runs:
                run.close()  # a temporary file: gone once closed
            self._runs, self._buffer = [], []

    def write(self) -> None:
        """The rejects file: replaced, never appended to across runs; left alone when the run refused
        nothing and there is no file of an earlier run to replace."""
        if not self.count and not self.target.exists():
            return
        streams = [_read_run(run) for run in self._runs]
        streams.append(iter(sorted(self._buffer, key=_by_key)))
        with self.target.open("wb") as out:
            for _, encoded in heapq.merge(*streams, key=_by_key):
                out.write(encoded + b"\n")


def _by_key(item: tuple[_Key, object]) -> _Key:
    return item[0]


def _read_run(run: IO[bytes]) -> Iterator[tuple[_Key, bytes]]:
    for row in run:
        place, line, seq, encoded = row.rstrip(b"\n").split(b" ", 3)
        yield (int(place), int(line), int(seq)), encoded
