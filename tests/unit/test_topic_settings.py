"""Partition count and replication factor come from the environment (HOTLINE_PARTITIONS,
HOTLINE_REPLICATION_FACTOR; 4 and 1 by default), and every part of a worker uses the same values:
topic creation, faust's app and tables, the ownership of keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.topics import count_from_env

ROOT = Path(__file__).parents[2]


def test_unset_or_empty_gives_the_default() -> None:
    assert count_from_env("HOTLINE_PARTITIONS", 4, {}) == 4
    assert count_from_env("HOTLINE_PARTITIONS", 4, {"HOTLINE_PARTITIONS": " "}) == 4
    assert count_from_env("HOTLINE_PARTITIONS", 4, {"HOTLINE_PARTITIONS": "12"}) == 12


@pytest.mark.parametrize("raw", ["0", "-1", "four", "2.5"])
def test_a_bad_value_is_refused_with_its_name(raw: str) -> None:
    with pytest.raises(ValueError, match=f"HOTLINE_REPLICATION_FACTOR={raw!r}"):
        count_from_env("HOTLINE_REPLICATION_FACTOR", 1, {"HOTLINE_REPLICATION_FACTOR": raw})


def test_a_worker_process_takes_them_from_the_environment(tmp_path: Path) -> None:
    """In a fresh process (the values are read once, at import): faust's app, its tables and their
    changelog topics (which ensure_topics creates before faust starts), and the key ownership."""
    script = f"""
from pathlib import Path

from consumers.worker.app import make_app
from consumers.worker.config import WorkerConfig
from consumers.worker.ownership import Ownership
from consumers.worker.tables import changelog_topics, emitted_table, published_table
from schemas.topics import PARTITIONS, REPLICATION_FACTOR

config = WorkerConfig(0, 2, servers="127.0.0.1:1", namespace="ns", datadir=Path({str(tmp_path)!r}))
app = make_app(config)
tables = [emitted_table(app), published_table(app)]
print(PARTITIONS, REPLICATION_FACTOR, app.conf.topic_partitions, app.conf.topic_replication_factor)
print(*[table.partitions for table in tables])
print(*[table.changelog_topic.get_topic_name() for table in tables])
print(*changelog_topics(config.app_id))
print(Ownership(0, 2).partitions)
"""
    env = {**os.environ, "HOTLINE_PARTITIONS": "6", "HOTLINE_REPLICATION_FACTOR": "3"}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == [
        "6 3 6 3",
        "6 6",
        "ns-worker-0-emitted-changelog ns-worker-0-published-changelog",
        "ns-worker-0-emitted-changelog ns-worker-0-published-changelog",
        "6",
    ]
