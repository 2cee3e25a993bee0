"""When a fold takes its next checkpoint (`Spacing`): what was folded since the last one, and at what
cost, against what that one cost to take."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from projections.checkpoint import Position
from projections.timeline import Spacing


class Cadence:
    def __init__(self, spacing: Spacing) -> None:
        self.spacing = spacing
        self.facts = 0  # folded since the last checkpoint
        self.seconds = 0.0  # fold time since the last checkpoint
        self.cost = 0.0  # what the last checkpoint took to freeze and save
        self.event_time: datetime | None = None  # the last checkpoint's
        self.wall_time = float("-inf")  # when it was taken, on `wall`
        self.wall: Callable[[], float] = time.monotonic  # the live spacing's clock (a bench may simulate it)

    def folded(self, facts: int, seconds: float = 0.0) -> None:
        self.facts += facts
        self.seconds += seconds

    def due(self, position: Position | None) -> bool:
        """Whether to take one now, the fold standing at `position`: enough facts and fold time for
        its cost, or live (`Spacing.every`) a day of event time and enough wall time."""
        spacing = self.spacing
        if self.facts >= spacing.min_facts and self.seconds >= spacing.cost_ratio * self.cost:
            return True
        if spacing.every is None or not self.facts or position is None:
            return False
        if self.event_time is not None and position[0] - self.event_time < spacing.every:
            return False
        return self.wall() - self.wall_time >= spacing.live_ratio * self.cost

    def idle_due(self) -> bool:
        """Whether an idle process should take one now: `min_facts` folded since the last one (a
        refold takes few, spaced by fold time), and the live spacing's wall time since it, so that
        at most about 1/live_ratio of the process's time goes to them."""
        spacing = self.spacing
        return (
            self.facts >= spacing.min_facts and self.wall() - self.wall_time >= spacing.live_ratio * self.cost
        )

    def taken(self, position: Position | None, cost: float) -> None:
        self.cost = cost
        self.facts, self.seconds = 0, 0.0
        self.event_time = position[0] if position else None
        self.wall_time = self.wall()

    def restart(self, since: Position | None) -> None:
        """The fold starts over from a checkpoint at `since`: the count starts from it."""
        self.facts, self.seconds = 0, 0.0
        self.event_time = since[0] if since else None
