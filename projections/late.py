"""Late facts that commute: applied where the fold stands instead of refolding from a checkpoint.

A call, a case fact or an installation reported minutes late lands before facts already folded.
Refolding from the checkpoint before it costs a thaw and everything since, which is seconds on a long
history. Most late facts of these kinds touch nothing those later facts touched, and then applying
the fact now gives exactly the state the fold in event order gives. Two facts commute here when both
are *quiet* and their *subjects* are disjoint:

- A fact's subjects are the keys under which the fold reads or writes what it leaves behind: for a
  call its account, number, barcode and case (the detectors' histories, the installed device it
  reads); for a case fact its case, account and barcode (the case, its clocks, its problems); for an
  installation its barcode (the device; the warranty index per customer is a sorted list and the
  service book keeps the latest time, both the same in any order); an annulment has none (its fold
  step does nothing). Every other kind of fact (accounts, certificates, reports, confirmations,
  lifts…) does not commute.
- Quiet: applying it raised no suspicion, confirmed no violation, recorded no anomaly and fired or
  scheduled no deadline (`State.effects` did not move). A quiet fact of these kinds leaves only keyed
  records, counters that add up (calls per quarter) and maxima, so its place in the order matters
  to nothing else.

While folding, `fold_watching` returns the position of the last fact that was not quiet
(`apply_in_order` says which, one comparison a fact) or does not commute; the projector keeps the
latest as its `settled` position. A late fact of a commuting kind commutes when it lies after
`settled` and no fact after it (read back from the timeline, at most `SCAN_LIMIT`) shares a subject
with it. It is then applied; if it turns out not quiet after all, the projector refolds from it as
before. (A late annulment is not applied this way: the projector voids or refolds for it.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from projections.checkpoint import START, Position
from projections.fold import apply_in_order
from projections.state import State
from projections.timeline import Timeline
from schemas import facts as f

#: A late fact is compared with at most this many facts after it; past that it refolds.
SCAN_LIMIT = 20_000

_COMMUTING = frozenset(
    {
        f.CallReceived,
        *f.CASE_FACTS,
        f.DeviceInstalled,
        # Its fold step does nothing: annulments act through `State.annulled`, and the projector
        # refolds from the annulled violation when one lands (Projector._annul).
        f.ViolationAnnulled,
    }
)
_RANK = f.RANK
#: The kinds a late fact may be of to be applied where the fold stands.
_LATE = _COMMUTING - {f.ViolationAnnulled}


_FIELDS = (("account", "account_id"), ("number", "number"), ("barcode", "barcode"), ("case", "case_id"))


def subjects(fact: f.Fact) -> set[tuple[str, str]]:
    """What the fold reads or writes for a fact of a commuting kind (a superset: every field named so)."""
    return {(kind, value) for kind, field in _FIELDS if (value := getattr(fact, field, None))}


def commutes(late: f.Fact, later: Iterable[list[f.Fact]]) -> bool:
    """No fact of `later` (batches of the facts after the late one, all quiet and of commuting kinds)
    shares a subject with it, and there are at most SCAN_LIMIT of them."""
    mine = subjects(late)
    seen = 0
    for batch in later:
        seen += len(batch)
        if seen > SCAN_LIMIT:
            return False
        for fact in batch:
            if type(fact) not in _COMMUTING or not mine.isdisjoint(subjects(fact)):
                return False
    return True


def fold_watching(state: State, ordered: list[f.Fact]) -> Position | None:
    """`apply_in_order`, returning the position of the last fact that was not quiet or does not commute
    (None: every one commutes). Under several policy versions nothing commutes (a late call could be
    judged by another version)."""
    if not ordered:
        return None
    noisy = apply_in_order(state, ordered)
    if not state.history.single:
        noisy = ordered[-1]
    foreign = next((fact for fact in reversed(ordered) if type(fact) not in _COMMUTING), None)
    found = [(x.at, _RANK[type(x)], x.id) for x in (noisy, foreign) if x is not None]
    return max(found) if found else None


def late_prefix(facts: list[f.Fact], folded: Position | None, clock: datetime | None) -> int:
    """How many of `facts` (in event order) land before the last fact folded or the deadline clock."""
    count = 0
    for fact in facts:
        if (folded is None or (fact.at, _RANK[type(fact)], fact.id) > folded) and (
            clock is None or fact.at >= clock
        ):
            break
        count += 1
    return count


class LateCalls:
    """A projector's late facts: the position at or before which none commutes (`settled`, moved on by
    every fold through `fold`), and how many were applied where the fold stood (`applied`)."""

    def __init__(self) -> None:
        self.settled: Position = START
        self.applied = 0

    def restart(self, since: Position | None) -> None:
        """The state was restored from a checkpoint at `since`: what it holds was not watched."""
        self.settled = since or START

    def settle(self, position: Position | None) -> None:
        if position is not None and position > self.settled:
            self.settled = position

    def fold(self, state: State, ordered: list[f.Fact]) -> None:
        self.settle(fold_watching(state, ordered))

    def may_commute(self, fact: f.Fact) -> bool:
        """Worth trying: a fact of a commuting kind after `settled` (the facts after it are compared in
        `apply`)."""
        return type(fact) in _LATE and (fact.at, _RANK[type(fact)], fact.id) > self.settled

    def apply(self, state: State, late: list[f.Fact], timeline: Timeline) -> bool:
        """Apply the late facts (in event order) where the fold stands; False as soon as one does not
        commute after all (a subject shared with what follows it, or not quiet): then the state is
        wrong from the first of them and must be refolded."""
        for fact in late:
            before = state.effects
            if not commutes(fact, timeline.after((fact.at, _RANK[type(fact)], fact.id))):
                return False
            apply_in_order(state, [fact])
            if state.effects != before:
                return False
            self.applied += 1
        return True
