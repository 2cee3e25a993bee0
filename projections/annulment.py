"""An annulment voided in place, when nothing folded after the violation read what it caused.

Annulling a violation confirmed a month ago used to refold that month: the fold works an annulled
violation through like any other, but its consequences are born void and enter none of the indexes
that later decisions read (projections.consequences). So the state a refold would give differs from
the live one in two ways only:

1. the violation's own records (the violation, its engineer penalties or warning, its support stop,
   codes request, black-key event and plan, its company penalties) carry `annulled_at`, and its
   entries are missing from the blacklist, the account's warnings and the company's repeat counts;
2. whatever a later fact decided from those entries.

When (2) is empty, (1) can be written directly. It is empty when no fact after the confirmation
read what the violation left (`Footprint.reads`, from each handler):

- its engineer penalties are read by evasion: a call on its account, on another account of the
  same person, or from its number, at a time a penalty covers; an account opened for the person
  while one covers. Imposing a penalty only appends (a codes deadline, another confirmation);
- its warning is read by the next confirmation on its account; its company's repeat or black-key
  count by the next confirmation in the company (a swap's rule is decided only then, so any
  confirmation there counts). A suspicion confirmed at once (`auto_confirm`: a call's, a refusal's,
  a new account's) is such a confirmation, and so is a failed certificate exam;
- a lift of one of its penalties, a rectification of its plan, and an installation of a barcode a
  confirmation was ever held for, read it; a company's blacklist is read by no handler (admission
  and the views read it);
- case facts, SLA steps, reports, dismissals, annulments, codes answers, companies, ratings,
  certificates granted, customers, agreed maintenance, warnings issued and stops read none of it.

Any other kind of fact counts as a reader. A violation that revoked a certificate (the three-strike
tally) or waits for maintenance still refolds. `tests/property/test_annul_in_place.py` checks the
result against `project()`, under the shipped pack and one that confirms suspicions at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from domain import rules
from projections.state import State
from schemas import facts as f
from schemas.derived import Penalty, Violation

#: Facts whose handlers read nothing an engineer's or a company's violation writes.
_BLIND = frozenset(
    {
        *f.CASE_FACTS,
        f.ViolationReported,
        f.ViolationDismissed,
        f.ViolationAnnulled,
        f.CompanyRegistered,
        f.RatingIssued,
        f.CertificateGranted,
        f.CustomerAssigned,
        f.WarningIssued,  # appends to its account's warnings; reads none
        f.CaseSupportStopped,
        f.BarcodeCodesResult,  # its own violation's request; the penalty it may impose reads nothing
        f.MaintenanceAgreed,  # penalties awaiting maintenance: those violations still refold
    }
)


#: The kinds `Footprint.reads` may answer yes for: the only ones an annulment's check reads back.
SCANNED = frozenset(kind for kind in f.FACT_TYPES if kind not in _BLIND)


class Footprint:
    """What a violation's consequences left for later handlers to read: its engineer penalties (read
    by evasion, on its account, the person's other accounts and its number, at the times they
    cover), its warning (read by the next confirmation on its account), and its company's repeat or
    black-key count (read by the next confirmation in the company that counts the same)."""

    def __init__(self, state: State, violation: Violation, counts: bool) -> None:
        self.state = state
        self.violation_id = violation.id
        self.account_id = violation.account_id
        self.accounts = state.fellow_accounts(violation.account_id)
        self.persons = set(state.persons_of(violation.account_id))  # whose new accounts evasion judges
        self.number = violation.number
        self.by_account = [p for p in [state.penalties.get(f"{violation.id}/account")] if p is not None]
        self.by_number = [p for p in [state.penalties.get(f"{violation.id}/number")] if p is not None]
        self.warned = f"{violation.id}/warning" in state.warnings
        self.company = violation.company_id if counts else None
        # A suspicion confirmed at once (a call's, a refusal's, a new account's) reads what a
        # confirmation reads: the warning if its rule may be the warning's, the company's count if
        # its rule counts.
        detectors = [(p, d) for p in state.history.versions for d in p.detectors.values() if d.auto_confirm]
        same = {violation.rule, *(rules.SWAP_RULES if violation.rule in rules.SWAP_RULES else ())}
        self.at_once_warned = self.warned and any(d.rule in same for _, d in detectors)
        self.at_once_counted = self.company is not None and any(
            p.rules[d.rule].company_penalty == "repeat" or p.rules[d.rule].black_key_event
            for p, d in detectors
        )
        self._held: set[str] | None = None

    def reads(self, fact: f.Fact) -> bool:
        """Whether folding `fact` reads what the violation left (or may: unknown kinds do)."""
        kind = type(fact)
        if kind in _BLIND:
            return False
        if kind is f.CallReceived:
            assert isinstance(fact, f.CallReceived)
            if fact.account_id in self.accounts and _covering(self.by_account, fact.at):
                return True
            if fact.number == self.number and _covering(self.by_number, fact.at):
                return True
            return self._at_once_reads(fact.account_id)
        if kind is f.AdmissionRefused:
            assert isinstance(fact, f.AdmissionRefused)
            return self._at_once_reads(fact.account_id)
        if kind is f.AccountOpened:
            assert isinstance(fact, f.AccountOpened)
            if fact.person_id in self.persons and _covering(self.by_account, fact.at):
                return True  # evasion: another account of a blacklisted person
            return self.at_once_counted and fact.company_id == self.company
        if kind is f.ViolationConfirmed:
            assert isinstance(fact, f.ViolationConfirmed)
            if fact.violation_id == self.violation_id:
                return False  # its own confirmation (again: an anomaly either way)
            return self._confirmation_reads(fact.violation_id)
        if kind is f.CertificateExamResult:
            assert isinstance(fact, f.CertificateExamResult)
            reports = self.state.fraud_reports.get(fact.certificate_id, ())
            return any(self._confirmation_reads(report) for report in reports)
        if kind is f.RectificationSubmitted or kind is f.RectificationAccepted:
            assert isinstance(fact, f.RectificationSubmitted | f.RectificationAccepted)
            return fact.plan_id == f"{self.violation_id}/plan"
        if kind is f.PenaltyLifted:
            assert isinstance(fact, f.PenaltyLifted)
            return fact.penalty_id.startswith(self.violation_id + "/")
        if kind is f.DeviceInstalled:
            assert isinstance(fact, f.DeviceInstalled)
            return fact.barcode in self._held_barcodes()
        return True

    def _confirmation_reads(self, violation_id: str) -> bool:
        pending = self.state.pending.get(violation_id)
        return pending is not None and self._suspect_reads(pending.account_id)

    def _suspect_reads(self, account_id: str) -> bool:
        """Confirming a violation of `account_id` reads the account's warnings and its company's
        counts (any rule: a swap's is decided at the confirmation, so compare companies only)."""
        if self.warned and account_id == self.account_id:
            return True
        return self.company is not None and self._company_of(account_id) == self.company

    def _at_once_reads(self, account_id: str) -> bool:
        """What a suspicion on `account_id` confirmed at once would read."""
        if self.at_once_warned and account_id == self.account_id:
            return True
        return self.at_once_counted and self._company_of(account_id) == self.company

    def _company_of(self, account_id: str) -> str | None:
        account = self.state.accounts.get(account_id)
        return account.company_id if account is not None else None

    def _held_barcodes(self) -> set[str]:
        if self._held is None:
            self._held = {p.held_for[1] for p in self.state.pending.values() if p.held_for is not None}
        return self._held


def _covering(penalties: list[Penalty], at: datetime) -> bool:
    return any(p.covers(at) for p in penalties)


def annul_in_place(state: State, violation_id: str, at: datetime, later: Iterable[list[f.Fact]]) -> bool:
    """Void the confirmed violation `violation_id` as of `at` directly in `state`, if none of the facts
    `later` (every fact from its confirmation on, in batches) reads what it caused; False, with
    `state` untouched, when a refold is needed."""
    violation = state.violations.get(violation_id)
    if violation is None or violation.annulled_at is not None:
        return False
    rule = state.history.of_version(violation.policy_version).rules[violation.rule]
    if rule.company_penalty == "until_maintenance" or (
        rule.revoke_certificate and state.pending[violation_id].certificate_id
    ):
        return False
    footprint = Footprint(state, violation, counts=rule.company_penalty == "repeat" or rule.black_key_event)
    for batch in later:
        if any(footprint.reads(fact) for fact in batch):
            return False
    void(state, violation_id, at)
    return True


def void(state: State, violation_id: str, at: datetime) -> None:
    """Write what the fold writes for a violation annulled from the start (it must be confirmed and
    in force in `state`). Records are replaced, not changed, and lists rebuilt: a view or ledger may
    still hold the old ones."""
    violation = state.violations[violation_id]
    vid = violation.id
    state.violations[vid] = msgspec.structs.replace(violation, annulled_at=at)
    for suffix in ("account", "number", "company", "company-black-key"):
        penalty = state.penalties.get(f"{vid}/{suffix}")
        if penalty is None:
            continue
        state.penalties[penalty.id] = msgspec.structs.replace(penalty, annulled_at=at)
        index = state.blacklist[penalty.subject_kind]
        entries = index.get(penalty.subject)
        if entries is not None:
            kept = [p for p in entries if p.id != penalty.id]
            if kept:
                index[penalty.subject] = kept
            else:  # the fold files an annulled penalty nowhere: no empty entry either
                del index[penalty.subject]
    if (warning := state.warnings.get(f"{vid}/warning")) is not None:
        state.warnings[warning.id] = msgspec.structs.replace(warning, annulled_at=at)
        kept_warnings = [w for w in state.account_warnings.get(warning.account_id, ()) if w.id != warning.id]
        if kept_warnings:
            state.account_warnings[warning.account_id] = kept_warnings
        else:
            state.account_warnings.pop(warning.account_id, None)
    records: list[dict[str, Any]] = [
        state.support_stops,
        state.codes_requests,
        state.black_key_events,
        state.plans,
    ]
    for table, key in zip(records, (f"{vid}/support", vid, f"{vid}/black-key", f"{vid}/plan"), strict=True):
        if (record := table.get(key)) is not None:
            table[key] = msgspec.structs.replace(record, annulled_at=at)
    if violation.company_id is not None:
        for counter in (violation.rule, rules.BLACK_KEY_COUNTER):  # a "repeat" rule's, a black key's
            if (occurrences := state.occurrences.get((violation.company_id, counter))) is not None:
                # the key stays, even empty: the fold's count looks it up for an annulled one too
                state.occurrences[(violation.company_id, counter)] = [o for o in occurrences if o[1] != vid]


def void_annulled(state: State, annulled: dict[str, datetime]) -> None:
    """A state thawed from a checkpoint taken before annulments voided in place: void them in it too.

    Sound because such a checkpoint outlives its annulment only that way: an annulment that refolds
    deletes every checkpoint after its violation first, and so does any later fact placed before
    one. So what no fact read up to the head, none read up to the checkpoint either."""
    for violation_id, at in annulled.items():
        violation = state.violations.get(violation_id)
        if violation is not None and violation.annulled_at is None:
            void(state, violation_id, at)
