"""A projector over the embedded log, resumed from the checkpoints the log file keeps.

The checkpoints are sound for the facts up to the offset of their mark. What was appended since can
only affect what follows the earliest of: its own positions, and for an annulment the time its
violation was raised (a violation is confirmed at or after it is raised, and nothing before its
confirmation depends on whether it will be annulled). The projector restores the newest checkpoint
before that and refolds what follows, saving checkpoints on the way; then the mark moves to the end.

Checkpoints are kept for one policy at a time: a different pack (its fingerprint) starts over.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from domain.policy import Policy
from domain.policy_history import PolicyHistory
from projections.checkpoint import START, Position, policy_fingerprint, start_of
from projections.fold import sort_key
from projections.projector import Projector
from projections.timeline import Spacing
from schemas.facts import Fact, ViolationAnnulled
from storage.checkpoint_files import CheckpointFiles
from storage.log import EmbeddedLog
from storage.timeline import SqliteCheckpoints, SqliteTimeline, transaction

log = logging.getLogger("hotline.checkpoints")

#: Taking a checkpoint costs a fraction of a second on the demo log; at most a fifth of fold time.
EMBEDDED_SPACING = Spacing(min_facts=20_000, cost_ratio=4.0)
#: A short-lived command leaves a checkpoint at the end when it folded at least this many facts.
TAIL = 2_000


def resume_over_log(
    embedded: EmbeddedLog, policy: Policy | PolicyHistory, spacing: Spacing | None = None
) -> Projector:
    db = embedded.db
    checkpoints = SqliteCheckpoints(db)
    fingerprint = policy_fingerprint(policy)
    end = embedded.end_offset()
    mark = checkpoints.mark("offset")
    if checkpoints.mark("policy") != fingerprint or mark is None or int(mark) > end:
        checkpoints.drop_from(START)  # another policy, or a log that was replaced: start over
        mark = None
    timeline = SqliteTimeline(db)
    projector = Projector(policy, timeline, checkpoints, spacing or EMBEDDED_SPACING)
    changed = None if mark is not None else START
    if mark is not None and int(mark) < end:
        changed = _earliest_change(embedded, embedded.facts_since(int(mark)))
    projector.resume(changed, timeline.of_type(ViolationAnnulled), timeline.latest())
    projector.state()
    projector.checkpoint_now(min_facts=TAIL)
    try:
        checkpoints.set_mark("policy", fingerprint)
        checkpoints.set_mark("offset", str(end))
    except sqlite3.Error as e:  # a read-only log: the answer stands, the next command refolds again
        log.warning("could not record the checkpoints' mark (%s)", e)
    return projector


def _earliest_change(embedded: EmbeddedLog, new: Sequence[Fact]) -> Position | None:
    earliest = min(map(sort_key, new), default=None)
    for fact in new:
        if isinstance(fact, ViolationAnnulled):
            raised = embedded.raised_at(fact.violation_id)
            if raised is not None and (earliest is None or start_of(raised) < earliest):
                earliest = start_of(raised)
    return earliest


#: A process fed from Kafka folds in place; checkpoints every 20,000 facts at the least, more sparsely
#: while catching up (a fifth of fold time at most); live, also one per day of event time (Spacing).
FEED_SPACING = Spacing(min_facts=20_000, cost_ratio=4.0, every=timedelta(days=1))
#: ...and keeps two of its checkpoints thawed (projections.warm): the newest at least 15 minutes
#: back, for facts up to 15 minutes late and back-dated lifts, and the newest 35 days back, for
#: annulments of violations up to 35 days old.
FEED_WARM = (timedelta(minutes=15), timedelta(days=35))
#: ...and keeps this many checkpoints, thinned (older ones further apart). Each is a file (68 MB at
#: 621k facts). With 16, the oldest gaps of a year of traffic were 3-5 months, and a refold or a past
#: query falling in one folded that much; twice as many halves the gaps for twice the disk.
FEED_KEPT = 32


def open_store(
    path: Path, policy: Policy | PolicyHistory, spacing: Spacing | None = None
) -> tuple[Projector, dict[int, int]]:
    """A projector over the process's own store (facts and checkpoints in one SQLite file), resumed
    from its newest sound checkpoint, and the offsets per partition of the facts topic up to which
    every fact is in the store: where to read on from. A new store gives an empty projector and {}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    # The event-time index takes inserts all over (facts arrive out of order): a page cache that holds
    # it saves most of the reads an insert would make (SQLite's default is 2 MiB).
    db.execute("PRAGMA cache_size=-131072")  # 128 MiB
    timeline, checkpoints = SqliteTimeline(db), CheckpointFiles(db, checkpoint_directory(path), FEED_KEPT)
    _forget_inline_checkpoints(db)
    fingerprint = policy_fingerprint(policy)
    if checkpoints.mark("policy") != fingerprint:
        checkpoints.drop_from(START)  # the facts stand; states folded under another policy do not
        checkpoints.set_mark("policy", fingerprint)
    projector = Projector(policy, timeline, checkpoints, spacing or FEED_SPACING, warm=FEED_WARM)
    offsets = {int(p): int(o) for p, o in json.loads(checkpoints.mark("offsets") or "{}").items()}
    if len(timeline):
        projector.resume(None, timeline.of_type(ViolationAnnulled), timeline.latest())
        projector.state()
    return projector, offsets


def checkpoint_directory(store: Path) -> Path:
    """Where a store's checkpoints are kept: beside it (storage.checkpoint_files)."""
    return store.with_name(store.name + ".checkpoints")


def _forget_inline_checkpoints(db: sqlite3.Connection) -> None:
    """A store written by an earlier version kept its checkpoints in the file: they are dropped once
    (the facts stay; the first refold takes new ones), and their pages reused."""
    if db.execute("SELECT 1 FROM checkpoints LIMIT 1").fetchone() is not None:
        log.info("dropping the checkpoints kept inside the store by an earlier version")
        with transaction(db):
            db.execute("DELETE FROM checkpoints")


def save_offsets(projector: Projector, offsets: dict[int, int]) -> None:
    """Every fact before these offsets is in the projector's store (call when none is held back)."""
    checkpoints = projector.checkpoints
    assert isinstance(checkpoints, SqliteCheckpoints)
    checkpoints.set_mark("offsets", json.dumps({str(p): o for p, o in sorted(offsets.items())}))
