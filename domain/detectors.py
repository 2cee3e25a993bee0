"""Detectors: suspicions raised from the call stream. Thresholds come from the policy.

Each detector keeps only the little history it needs and is fed calls in event-time order.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

import msgspec

from domain.model import Device
from domain.policy import DetectorPolicy, Policy
from schemas.facts import CallReceived
from schemas.types import RuleId


class Finding(NamedTuple):
    detector: str
    rule: RuleId
    detail: str
    causes: tuple[str, ...]


def normalise_problem(text: str) -> str:
    return " ".join(text.casefold().split())


def barcode_mismatch(stated_model: str, stated_site: str, device: Device | None) -> str | None:
    """What differs between what the caller stated and the installed base; None when it matches."""
    if device is None or (stated_model == device.product_model and stated_site == device.site_id):
        return None
    wrong = []
    if stated_model != device.product_model:
        wrong.append(f"model {stated_model!r} but installed {device.product_model!r}")
    if stated_site != device.site_id:
        wrong.append(f"site {stated_site!r} but installed {device.site_id!r}")
    return "; ".join(wrong)


#: A call logged this long after an admission refusal with the same statements is that refused call:
#: the refusal already raised its BARCODE-MISMATCH suspicion (one incident, one suspicion).
REFUSAL_WINDOW = timedelta(minutes=15)


class DetectorHistory(msgspec.Struct, array_like=True):
    """What the detectors remember between calls, as plain data (checkpoints write it). A field added
    later comes last, with a default, so that an older image still decodes."""

    barcode_problems: dict[str, dict[str, tuple[datetime, str]]]
    reuse_raised: dict[str, datetime]
    account_calls: dict[str, list[tuple[datetime, str, str]]]
    case_problems: dict[str, dict[str, str]]
    # account -> barcode -> (time, stated model, stated site) of its latest admission mismatch
    refusals: dict[str, dict[str, tuple[datetime, str, str]]] = msgspec.field(default_factory=dict)


class _Barcode:
    """All a call needs of its barcode, behind one lookup: the installed device (mirrored from the
    state's devices) and the reuse history. A lookup in a table of many barcodes is a cache miss or
    two; the call path used to pay it twice."""

    __slots__ = ("device", "problems")

    def __init__(
        self, device: Device | None, problems: dict[str, tuple[datetime, str]] | None = None
    ) -> None:
        self.device = device
        # problem -> (latest time, latest call id); filled only when the reuse detector runs
        self.problems: dict[str, tuple[datetime, str]] = {} if problems is None else problems


class CallDetectors:
    """Fed every call in event-time order. This runs once per call on the replay hot path, so `observe`
    is one flat pass with the common case first: no finding, nothing allocated but the history it
    must keep. The rare paths (a threshold reached) live in their own methods."""

    def __init__(self, policy: Policy) -> None:
        d = policy.detectors
        self.mismatch = d.get("barcode-mismatch")
        self.reuse = d.get("barcode-reuse")
        self.shared = d.get("shared-account")
        self.case_reuse = d.get("case-reuse")
        self._reuse_window = timedelta(days=self.reuse.window_days) if self.reuse else timedelta(0)
        self._assumed_call = timedelta(minutes=self.shared.assumed_call_minutes if self.shared else 0)
        self._normal: dict[str, str] = {}
        # barcode -> its device and problems; made at the barcode's first call
        self._barcodes: dict[str, _Barcode] = {}
        # barcode -> problems restored from a history, not called since: taken into `_barcodes` at the
        # barcode's next call. Making all 28k records on a thaw cost ~70 ms; a refold calls a few.
        self._restored: dict[str, dict[str, tuple[datetime, str]]] = {}
        self._reuse_raised: dict[str, datetime] = {}
        # account -> calls still live at the last call: (end, number, call id)
        self._account_calls: dict[str, list[tuple[datetime, str, str]]] = {}
        self._case_problems: defaultdict[str, dict[str, str]] = defaultdict(dict)
        # account -> barcode -> (time, model, site) of an admission mismatch not yet matched by a call
        self._refusals: dict[str, dict[str, tuple[datetime, str, str]]] = {}

    def history(self) -> DetectorHistory:
        problems = {barcode: b.problems for barcode, b in self._barcodes.items() if b.problems}
        if self._restored:
            problems.update(self._restored)  # disjoint: a barcode leaves `_restored` at its first call
        return DetectorHistory(
            problems, self._reuse_raised, self._account_calls, self._case_problems, self._refusals
        )

    def restore(self, history: DetectorHistory, devices: dict[str, Device]) -> None:
        """Back to `history`, beside the state's `devices` (each barcode's device is looked up in the
        `devices` given to `observe` at its next call)."""
        self._barcodes = {}
        self._restored = history.barcode_problems  # the device is looked up when the barcode is called
        self._reuse_raised = history.reuse_raised
        self._account_calls = history.account_calls
        self._case_problems = defaultdict(dict, history.case_problems)
        self._refusals = history.refusals

    def _normalised(self, problem: str) -> str:
        normal = self._normal.get(problem)
        if normal is None:
            normal = self._normal[problem] = normalise_problem(problem)
        return normal

    def case_opened(self, case_id: str, problem: str, fact_id: str) -> None:
        if problem:
            normal = self._normal.get(problem)  # inline: runs once per case opened
            if normal is None:
                normal = self._normalised(problem)
            problems = self._case_problems.get(case_id)
            if problems is None:  # the usual case: a new case, its first problem
                self._case_problems[case_id] = {normal: fact_id}
            else:
                problems.setdefault(normal, fact_id)

    def device_installed(self, barcode: str, device: Device) -> None:
        """Mirror of `State.devices`: a barcode already called sees its (new) device."""
        record = self._barcodes.get(barcode)
        if record is not None:
            record.device = device

    def admission_mismatch(self, account_id: str, barcode: str, at: datetime, model: str, site: str) -> None:
        """Admission refused a call on a barcode mismatch (and raised the suspicion): the same call
        logged within REFUSAL_WINDOW raises no second one. The latest refusal per barcode is kept."""
        self._refusals.setdefault(account_id, {})[barcode] = (at, model, site)

    def _refused_before(self, call: CallReceived) -> bool:
        """The call is one admission refused minutes before, stating the same: that refusal is spent
        (one refusal, one call). A refusal found older than the window is forgotten."""
        refused = self._refusals.get(call.account_id)
        if refused is None:  # the usual answer: this account was never refused on a mismatch
            return False
        entry = refused.get(call.barcode)
        if entry is None or call.at < entry[0]:
            return False
        fresh = call.at - entry[0] <= REFUSAL_WINDOW
        if fresh and (entry[1] != call.stated_model or entry[2] != call.stated_site):
            return False  # another statement: another incident; the refusal may still meet its call
        del refused[call.barcode]
        if not refused:
            del self._refusals[call.account_id]
        return fresh

    def observe(self, call: CallReceived, devices: dict[str, Device]) -> tuple[Finding, ...]:
        """The findings on this call, in detector order (mismatch, reuse, shared account, case reuse);
        usually none (an empty tuple: nothing allocated). `devices` is the installed base by barcode,
        looked up only at a barcode's first call."""
        found: tuple[Finding, ...] = ()
        at = call.at
        problem = self._normal.get(call.problem)
        if problem is None:
            problem = self._normalised(call.problem)
        barcode = self._barcodes.get(call.barcode)
        if barcode is None:  # its first call (since a restore: its problems come along)
            barcode = self._barcodes[call.barcode] = _Barcode(
                devices.get(call.barcode), self._restored.pop(call.barcode, None) if self._restored else None
            )
        device = barcode.device
        if (
            device is not None
            and self.mismatch is not None
            and (call.stated_model != device.product_model or call.stated_site != device.site_id)
            # rare: this very call was refused at admission minutes ago, which raised the suspicion
            and not (self._refusals and self._refused_before(call))
        ):
            what = barcode_mismatch(call.stated_model, call.stated_site, device) or ""  # never empty here
            found = (Finding("barcode-mismatch", self.mismatch.rule, what, (call.id,)),)
        if (reuse := self.reuse) is not None:
            problems = barcode.problems
            problems[problem] = (at, call.id)
            if len(problems) >= reuse.distinct:  # rare: enough problems, unless some are out of the window
                found = self._barcode_reuse(call, problems, reuse, found)
        if (shared := self.shared) is not None:
            entry = (call.ended_at or at + self._assumed_call, call.number, call.id)
            earlier = self._account_calls.get(call.account_id)
            if earlier is None:
                self._account_calls[call.account_id] = [entry]
            elif len(earlier) == 1 and earlier[0][0] <= at and shared.distinct > 1:
                earlier[0] = entry  # the usual case: the one earlier call is over, this one is alone
            else:
                found = self._shared_account(call, entry, earlier, shared, found)
        if self.case_reuse is not None and call.case_id:
            found = self._case_reused(call, problem, self.case_reuse, found)
        return found

    def _barcode_reuse(
        self,
        call: CallReceived,
        problems: dict[str, tuple[datetime, str]],
        p: DetectorPolicy,
        found: tuple[Finding, ...],
    ) -> tuple[Finding, ...]:
        """Distinct problems on one barcode within the window: a problem counts while its latest call
        on the barcode is inside the window."""
        if p.window_days:
            horizon = call.at - self._reuse_window
            for old in [k for k, (at, _) in problems.items() if at <= horizon]:
                del problems[old]
            if len(problems) < p.distinct:
                return found
        raised = self._reuse_raised.get(call.barcode)
        if raised is not None and call.at - raised < (self._reuse_window or timedelta(days=36500)):
            return found
        self._reuse_raised[call.barcode] = call.at
        detail = f"barcode {call.barcode} used for {len(problems)} different problems"
        causes = tuple(sorted(c for _, c in problems.values()))
        return (*found, Finding("barcode-reuse", p.rule, detail, causes))

    def _shared_account(
        self,
        call: CallReceived,
        entry: tuple[datetime, str, str],
        earlier: list[tuple[datetime, str, str]],
        p: DetectorPolicy,
        found: tuple[Finding, ...],
    ) -> tuple[Finding, ...]:
        live = [c for c in earlier if c[0] > call.at]
        live.append(entry)
        self._account_calls[call.account_id] = live
        if len(live) < p.distinct:
            return found
        numbers = {c[1]: c[2] for c in live}
        if len(numbers) >= p.distinct and call.number not in {c[1] for c in live[:-1]}:
            detail = f"account {call.account_id} on {len(numbers)} numbers at once: {sorted(numbers)}"
            return (*found, Finding("shared-account", p.rule, detail, tuple(sorted(numbers.values()))))
        return found

    def _case_reused(
        self, call: CallReceived, problem: str, p: DetectorPolicy, found: tuple[Finding, ...]
    ) -> tuple[Finding, ...]:
        assert call.case_id is not None
        problems = self._case_problems[call.case_id]
        if problem in problems:
            return found
        problems[problem] = call.id
        if len(problems) >= p.distinct:
            detail = f"case {call.case_id} reused for {len(problems)} unrelated problems"
            return (*found, Finding("case-reuse", p.rule, detail, tuple(sorted(problems.values()))))
        return found
