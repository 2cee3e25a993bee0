"""docs/kafka.md lists every topic of the catalogue with its key and cleanup policy."""

from __future__ import annotations

from pathlib import Path

from schemas.topics import ALL

DOC = (Path(__file__).parents[2] / "docs" / "kafka.md").read_text(encoding="utf-8")


def test_every_topic_is_documented_with_its_cleanup_policy() -> None:
    rows = {
        line.split("|")[1].strip(" `"): line for line in DOC.splitlines() if line.startswith("| `hotline.")
    }
    assert set(rows) == {topic.in_namespace("hotline") for topic in ALL}
    for topic in ALL:
        row = rows[topic.in_namespace("hotline")]
        assert ("compacted" in row) == (topic.cleanup == "compact")
        assert "for ever" in row or topic.cleanup == "compact"
