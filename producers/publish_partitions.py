"""Which partition of the facts topic a key goes to: Kafka's default rule, computed once per key.

The rule is murmur2 of the key, made positive, modulo the partition count
(consumers.kafka_log.default_partition): the partition kafka-python's default partitioner picks,
which the workers rely on. Facts of one account or company share a key, and the pure-Python murmur2
costs about 1.5 us, so each key's partition is cached until the partition count changes.
"""

from __future__ import annotations

from collections.abc import Callable

from consumers.kafka_log import default_partition

CACHE_LIMIT = 1_000_000  # partitions cached per key; cleared beyond (5M devices would be ~1 GB)


class PartitionCache:
    """The partition of each key seen, for one topic's list of partitions."""

    def __init__(self, partitions: list[int]) -> None:
        self.partitions = partitions
        self._partition_of: dict[bytes, int] = {}

    def partitioner(self, partitions: list[int]) -> Callable[[bytes], int]:
        """The rule for the topic's partitions now (`partitions`, sorted, not empty); the cache is
        kept while they are the same and holds at most CACHE_LIMIT keys."""
        cache = self._partition_of
        if partitions != self.partitions or len(cache) > CACHE_LIMIT:
            cache.clear()
            self.partitions = partitions
        n = len(partitions)

        def partition(key: bytes) -> int:
            p = cache.get(key)
            if p is None:
                p = cache[key] = partitions[default_partition(key, n)]
            return p

        return partition
