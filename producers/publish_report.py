"""What publishing a batch did (`PublishReport`), and the one error it raises (`PublishError`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from producers.validate import Rejection


class PublishError(Exception):
    """The batch could not be (fully) published; the message says why and what to do. `report`
    holds what was done before the failure, when anything was."""

    def __init__(self, message: str, report: PublishReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class PublishReport:
    facts_topic: str = ""
    rejects_topic: str = ""
    read: int = 0  # lines (or facts) that carry a fact, good or bad; blank lines are not counted
    published: int = 0  # facts sent and acknowledged now
    duplicates: int = 0  # facts already on the topic, or repeated in the batch: not sent again
    rejected: list[Rejection] = field(default_factory=list)  # one per (line, reason)
    # A streamed run (producers.produce_files) keeps the first rejections only; these count the rest.
    more_rejections: int = 0
    more_lines: int = 0
    rejects_published: int = 0  # rejection records acknowledged on the rejects topic
    check_seconds: float = 0.0
    send_seconds: float = 0.0  # sending and the final flush

    @property
    def accepted(self) -> int:
        """Facts of this batch that are on the facts topic now (sent now, or there already)."""
        return self.published + self.duplicates

    @property
    def rejected_lines(self) -> int:
        return len({(r.file, r.line) for r in self.rejected}) + self.more_lines

    def summary(self) -> str:
        return (
            f"{self.read} read: {self.published} facts published to {self.facts_topic}, "
            f"{self.duplicates} already there, {self.rejected_lines} lines rejected "
            f"({len(self.rejected) + self.more_rejections} reasons on {self.rejects_topic})"
        )
