"""Faust stream processors: worker `index` of `count` keeps the whole projection and publishes the
derived events and projection updates of the keys it owns.

How it runs (`main_worker`, `python -m consumers.worker --index I --of K`):
0. The worker's files live in DATADIR = STATE/{namespace}-worker-{index} (STATE: --state-dir, else
   $HOTLINE_STATE_DIR, else $XDG_STATE_HOME/hotline or ~/.local/state/hotline; or --datadir DATADIR):
   projection.db, status.json and faust's tables (faust/). Logs go to stderr, plain text when it is
   not a terminal, with connection errors rate-limited (log_lines.py).
1. Before faust starts, the projector resumes from the worker's store (DATADIR/projection.db: facts
   and checkpoints on disk), and the facts topic is drained from the store's offsets (every
   partition; offset 0 for a new worker) with consumers.kafka_log.FactReader.
2. Then the same reader goes on from where the drain ended, on its own thread (live_facts.py; no
   consumer group, every partition): each poll of up to 5000 records is handed to a faust task that
   decodes it in one msgspec call and puts it through a small reorder buffer (reorder.py) into the
   Projector (dedupe by fact id: re-deliveries change nothing; late facts refold from a
   checkpoint). The log, not a committed offset, decides what the projection holds. faust (app id
   f"{namespace}-worker-{index}", its own consumer group) keeps the tables, the producer and the
   process; its per-record delivery was too slow to carry the facts (docs/kafka.md).
3. After each batch (and from a publishing task between batches), the state is diffed against what
   this worker already published (emitter.py, tables.py): new derived events go to their topics
   (suspicions, violations, penalties, company-penalties, blacklist-changes,
   certificate-revocations; key = subject) and changed projection values to the compacted topics
   (projection.blacklist "kind:subject", projection.company-counters, projection.certificate-tallies),
   only for keys the worker owns: murmur2(key) % PARTITIONS % count == index (PARTITIONS:
   $HOTLINE_PARTITIONS, default 4). No windowed tables: the rolling year is evaluated on the
   occurrence times, as the core does.

Delivery is AT-LEAST-ONCE. Event ids are deterministic (a record and each of its later changes,
f"{id}@lifted", f"{id}@annulled", ... are separate immutable events), an id is recorded in the
`emitted` table (RocksDB + changelog) only after the broker acknowledged it, and a restarted worker
publishes only what the table lacks. After a kill -9 some events may be published twice, with the
same id and payload: consumers dedupe by topic and event `id`. A `derived.changed` event with change
"retracted" withdraws an event that a late fact showed never happened.

faust's exactly-once mode stays off. HOTLINE_WORKER_GUARANTEE=exactly_once starts it (one
transactional producer per partition) and the results still match, but the derived records were not
in faust's transactions (no transaction markers on the derived topics) and the tables' changelog
topics stayed empty (so a restart without its data directory would publish everything again): it
buys nothing here and loses the changelog copy of what was published.

Prometheus metrics (facts applied, lag per partition, refolds, undecodable records) are served on
HOTLINE_METRICS_PORT + index when that is set, behind a reader token (metrics.py, docs/metrics.md).

Tests ask a worker "what is your digest as of T?" through status.json in its data directory: given
HOTLINE_DIGEST_AS_OF=T, the worker writes digest(snapshot(state_at(T), T)) with the number of facts
it covers whenever it is quiet (status.py lists every field).
"""

from .main import WorkerError, main_worker

__all__ = ["WorkerError", "main_worker"]
