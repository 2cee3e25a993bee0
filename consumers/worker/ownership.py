"""Which worker publishes a key: the worker that owns the key's partition.

partition = murmur2(key) % PARTITIONS ($HOTLINE_PARTITIONS, default 4, the partition count of every
topic), exactly Kafka's default partitioner (consumers.kafka_log.default_partition, which the
producers use too; kafka-python and aiokafka agree on every key), so a key's records land in the
partition its owner is named after. Worker `index` of `count` owns the partitions p with
p % count == index.
"""

from __future__ import annotations

from consumers.kafka_log import default_partition
from schemas.topics import PARTITIONS


def partition_of(key: str, partitions: int = PARTITIONS) -> int:
    return default_partition(key.encode(), partitions)


class Ownership:
    """`owns(key)`, cached: murmur2 is pure Python (~5 µs) and the same subjects recur every batch."""

    def __init__(self, index: int, count: int, partitions: int = PARTITIONS) -> None:
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"worker index {index} is not in 0..{count - 1}")
        self.index, self.count, self.partitions = index, count, partitions
        self._cache: dict[str, bool] = {}

    def owns(self, key: str) -> bool:
        owned = self._cache.get(key)
        if owned is None:
            owned = self._cache[key] = partition_of(key, self.partitions) % self.count == self.index
        return owned
