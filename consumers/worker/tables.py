"""What this worker has already published, kept in faust Tables (RocksDB, with a changelog topic).

- `emitted`: "topic kind|derived event id" -> [generation, topic kind, key, record type,
  fingerprint]. A positive generation means the event is live on its topic; a negative one that it
  was retracted after that generation. The fingerprint is of what the live generation said.
- `published`: f"{projection kind}|{key}" -> fingerprint of the value last written to the compacted
  topic (absent once a tombstone was written).

A restarted worker reads them back (from its RocksDB directory, or from the changelog when that is
gone) and publishes only what it has not published yet.

faust files a table key under the partition of the event being processed (its RocksDB store asserts
there is one), but these keys are event ids, not the facts' keys, and they are also written from the
publishing task, outside any event. So every write goes through `KeyedTable`, which sets the current
event to a stand-in of the key's own partition (murmur2 of the id): the RocksDB partition and the
changelog partition of a key always agree, and a restore puts each key back where it is looked up.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import faust
from faust.streams import _current_event
from faust.types import Message

from schemas.topics import PARTITIONS

from .ownership import partition_of

TABLES = ("emitted", "published")


def changelog_topics(app_id: str) -> list[str]:
    """The changelog topic faust gives each table, f"{app id}-{table}-changelog" (faust's
    Collection._changelog_topic_name, app version 1). main.run creates them with
    consumers.kafka_log.ensure_topics before faust starts, with PARTITIONS partitions like the
    facts topic (see ensure_topics for why faust must not create them itself)."""
    return [f"{app_id}-{table}-changelog" for table in TABLES]


def emitted_table(app: faust.App) -> faust.types.TableT:  # type: ignore[type-arg]
    return app.Table(
        "emitted",
        default=None,
        partitions=PARTITIONS,  # faust requires the partition count of the facts topic
        key_type=str,  # json: faust derives the serializers from the types
        help="topic kind|derived event id -> [generation, kind, key, record type, fingerprint]",
    )


def published_table(app: faust.App) -> faust.types.TableT:  # type: ignore[type-arg]
    return app.Table(
        "published",
        default=None,
        partitions=PARTITIONS,
        key_type=str,
        help="projection kind|key -> fingerprint of the value last written",
    )


class KeyedTable(MutableMapping[str, Any]):
    """A faust table whose keys live in the partition of their own hash, writable from anywhere."""

    def __init__(self, app: faust.App, table: faust.types.TableT, source_topic: str) -> None:  # type: ignore[type-arg]
        self.app, self.table, self.source_topic = app, table, source_topic

    @contextmanager
    def _in_partition(self, key: str) -> Iterator[None]:
        message = Message(
            topic=self.source_topic,  # faust checks that it has as many partitions as the changelog
            partition=partition_of(key),
            offset=-1,
            timestamp=time.time(),
            timestamp_type=0,
            headers=None,
            key=None,
            value=None,
            checksum=None,
        )
        event = faust.Event(self.app, None, None, None, message)
        token = _current_event.set(weakref.ref(event))
        try:
            yield
        finally:
            _current_event.reset(token)

    def __getitem__(self, key: str) -> Any:
        with self._in_partition(key):
            if key not in self.table:
                raise KeyError(key)
            return self.table[key]

    def __setitem__(self, key: str, value: Any) -> None:
        with self._in_partition(key):
            self.table[key] = value

    def __delitem__(self, key: str) -> None:
        with self._in_partition(key):
            if key not in self.table:
                raise KeyError(key)
            del self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.table.keys()))

    def __len__(self) -> int:
        return len(self.table)

    def snapshot(self) -> dict[str, Any]:
        """Every key and value (read once at start: the emitter keeps a copy in memory)."""
        return {k: v for k, v in self.table.items() if v is not None}
