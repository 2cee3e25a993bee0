"""`hotline serve --log FILE`: the query API over the embedded log, with no broker at all.

The API reads a `Replica` (consumers.replica): its lock, live state, deadline firing and past folds
are what make answers exact, so the embedded source IS a replica, fed from the log file instead of
the facts topic. `LogFeed` plays the part of the topic reader: it drains the log from offset 0, then
polls for what other processes (`hotline ingest`) append. The log is one SQLite file shared between
processes (WAL), so new facts show up here within a poll, and the dashboard's live updates follow
(`Replica.version` grows).

Admission decisions are recorded on the same log (`decisions` table), as `hotline check` records
them, with the `admission.refused` fact of a barcode-mismatch refusal appended to the facts in the
same transaction (the feed then folds it: the suspicion shows); an answer that cannot be recorded is
not given (DecisionNotRecorded, a 503).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from consumers.embedded import DecisionNotRecorded
from consumers.replica import Replica
from domain.admission import refusal_fact
from domain.policy import Policy
from domain.policy_history import PolicyHistory
from projections.projector import Projector
from schemas.codec import batch_from_msgpack
from schemas.derived import AdmissionDecision
from schemas.facts import Fact
from storage.keystore import keys_of_log
from storage.log import EmbeddedLog, LogWriteError
from storage.resume import FEED_WARM

if TYPE_CHECKING:
    from consumers.api.reveal import Pseudonyms

log = logging.getLogger("hotline.api")
BATCH = 50_000  # facts decoded at a time while draining (as EmbeddedLog.read_batches)


class LogFeed:
    """The FeedReader of consumers.replica over an embedded log: one 'partition', numbered 0.

    It is opened inside the feeder thread (SQLite connections stay in the thread that made them)."""

    def __init__(self, path: Path) -> None:
        self.log = EmbeddedLog(path)
        self.offset = 0  # every fact up to here has been handed to the replica

    def _after(self, offset: int, limit: int) -> tuple[list[Fact], int]:
        rows = self.log.db.execute(
            "SELECT offset, body FROM facts WHERE offset > ? ORDER BY offset LIMIT ?", (offset, limit)
        ).fetchall()
        if not rows:
            return [], offset
        return list(batch_from_msgpack([body for _, body in rows])), int(rows[-1][0])

    def drain(self) -> Iterator[Sequence[Fact]]:
        end = self.log.end_offset()  # caught up once this is read; later appends come through poll
        while self.offset < end:
            batch, self.offset = self._after(self.offset, BATCH)
            if not batch:
                break
            yield batch

    def poll(self, timeout_ms: int = 200) -> Sequence[Fact]:
        batch, self.offset = self._after(self.offset, BATCH)
        if not batch:
            time.sleep(timeout_ms / 1000)  # SQLite has no notification across processes: look again soon
        return batch

    def positions(self) -> dict[int, int]:
        return {0: self.offset}

    def lag(self) -> dict[int, int]:
        return {0: max(0, self.log.end_offset() - self.offset)}

    def close(self) -> None:
        self.log.close()


class EmbeddedSource(Replica):
    """A replica of the embedded log, under the log's policy history (effective-dated versions)."""

    def __init__(self, path: Path, history: PolicyHistory) -> None:
        projector = Projector(history, warm=FEED_WARM)  # a long-lived process: late facts refold warm
        super().__init__(history.latest, feed=lambda: LogFeed(path), projector=projector)
        self.path = path
        self.history = history

    def policy_at(self, t: datetime) -> Policy:
        """The version in force at t: an admission answers under the version in force at the call."""
        return self.history.at(t)

    def decisions(self) -> list[AdmissionDecision]:
        """The admission decisions recorded on the log (a connection of the calling thread's own)."""
        with EmbeddedLog(self.path) as embedded:
            return embedded.decisions()


class LogRecorder:
    """Records each admission decision on the log, in a worker thread (a writer may wait on the
    log's write lock). One connection per thread: SQLite connections stay in their thread."""

    in_event_order = True  # the API times and records one decision at a time (consumers.api.handlers.Api)

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        # One writer at a time in this process: threads contending for SQLite's write lock back off in
        # sleeps, which put 1 s tails on admissions under load (bench/http_admission.py --log); a
        # Python lock queues them instead. Other processes still wait on SQLite's busy timeout.
        self._writing = threading.Lock()

    def _record(self, decision: AdmissionDecision) -> None:
        with self._writing:
            self._record_alone(decision)

    def _record_alone(self, decision: AdmissionDecision) -> None:
        try:
            embedded: EmbeddedLog | None = getattr(self._local, "log", None)
            if embedded is None:
                embedded = self._local.log = EmbeddedLog(self.path)
            refused = refusal_fact(decision)  # with its decision, as `hotline check` does
            embedded.record_decision(decision, () if refused is None else (refused,))
        except Exception as err:  # sqlite3.Error, LogWriteError: the answer must not be given
            cause = err if isinstance(err, LogWriteError) else LogWriteError(str(err))
            raise DecisionNotRecorded(self.path, decision, cause) from None

    async def __call__(self, decision: AdmissionDecision) -> None:
        await run_in_threadpool(self._record, decision)


def sealed_line(log_path: Path) -> Pseudonyms | None:
    """A sealed log's key store for the API; None for a clear log. KeyStoreError (one line) when the
    log is sealed and its key store is missing or belongs to another log."""
    from consumers.api.reveal import Pseudonyms

    with closing(EmbeddedLog(log_path)) as log:
        keys = keys_of_log(log.db, log_path, threads=True)
    if keys is None:
        return None
    return Pseudonyms(keys)


def main_serve_embedded(
    host: str,
    port: int,
    log_path: Path,
    history: PolicyHistory,
    log_level: str = "info",
    tokens_path: Path | None = None,
) -> None:
    """`hotline serve --log FILE`: the API and dashboard over the embedded log. Raises TokenStoreError
    (one line) when the token store is missing or holds no usable token: the API never serves
    unauthenticated."""
    import uvicorn

    from access.tokens import TokenStore
    from consumers.api.app import create_app
    from consumers.api.metrics import instrument

    tokens = TokenStore.for_server(tokens_path)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    source = EmbeddedSource(log_path, history)
    app = instrument(create_app(source, tokens, LogRecorder(log_path), sealed_line(log_path)), tokens)
    # An open dashboard keeps its event stream open for ever: on Ctrl-C, give streams 3 s, then close.
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, timeout_graceful_shutdown=3)
