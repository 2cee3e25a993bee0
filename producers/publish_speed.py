"""What keeps the publisher's hot loop fast, and quiet about it.

kafka-python's per-record work is pure Python (about 14 us a record here), so the hot loop avoids
everything else it can: the garbage collector is paused during a batch (`gc_paused`: a generation-2
pass over hundreds of thousands of pending record futures costs more than sending them), and
partitions are computed once per key (producers.publish_partitions).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager


class ExpectedStalls(logging.Filter):
    """kafka-python warns when a step of its sender thread takes over 100 ms. Here that only means
    our thread held the GIL through a batch (the sender catches up at the flush), not a livelock, so
    the warning would only alarm whoever runs `hotline produce`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Task %r ran for")


logging.getLogger("kafka.net.selector").addFilter(ExpectedStalls())


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def since(started: float) -> float:
    """Seconds since `started`, a `time.perf_counter()` reading."""
    return time.perf_counter() - started
