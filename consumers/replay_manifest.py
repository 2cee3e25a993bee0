"""What a replay from Kafka read: the manifest of every partition (storage.chain), and the records of
the facts topic that are not facts, which the fold left out."""

from __future__ import annotations

from dataclasses import dataclass

from storage.chain import Manifest


@dataclass(frozen=True, slots=True, order=True)
class Skipped:
    """A record of the facts topic that is not a fact: where it is, for the operator to look at."""

    partition: int
    offset: int

    def __str__(self) -> str:
        return f"partition {self.partition} offset {self.offset}"


@dataclass(frozen=True, slots=True)
class ReplayManifest(Manifest):
    """The manifest, and the records read that are not facts (in partition and offset order). They are
    part of the chains and counts above: the skipped list says which of them the fold left out."""

    skipped: tuple[Skipped, ...] = ()


def skipped_line(skipped: tuple[Skipped, ...] | list[Skipped]) -> str | None:
    """One line for the operator: "skipped 1 record that is not a fact: partition 2 offset 17"."""
    if not skipped:
        return None
    shown = ", ".join(str(s) for s in skipped[:10]) + (", ..." if len(skipped) > 10 else "")
    records = "record that is not a fact" if len(skipped) == 1 else "records that are not facts"
    return f"skipped {len(skipped)} {records}: {shown}"
