"""The folded state of the line, and the time-indexed queries that admission and the views ask."""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from domain.calendar import add_months
from domain.detectors import CallDetectors
from domain.model import Account, Certificate, Device
from domain.policy import Policy
from domain.policy_history import PolicyHistory
from projections.service_books import ServiceBook
from schemas.derived import (
    AllCertificatesRevoked,
    Anomaly,
    BlackKeyEvent,
    CertificateRevoked,
    CodesRequested,
    Penalty,
    RectificationPlan,
    SupportStopped,
    Suspicion,
    Violation,
    Warning,
)
from schemas.facts import RatingIssued
from schemas.types import RuleId


@dataclass(slots=True)
class Pending:
    """A staff report or a detector suspicion, awaiting confirmation."""

    id: str
    rule: RuleId
    account_id: str
    number: str | None
    raised_at: datetime
    occurred_at: datetime
    origin: str  # "report" or the detector's name
    causes: tuple[str, ...]
    call_id: str | None = None
    case_id: str | None = None
    certificate_id: str | None = None
    device_barcode: str | None = None
    serious: bool | None = None
    status: str = "open"  # open | held | confirmed | dismissed
    # A confirmation held for a missing reference (RULES.md "No silent guess"): when, by which fact,
    # with what seriousness, and what it waits for ("barcode", key): taken when that arrives.
    held_at: datetime | None = None
    held_by: str | None = None
    held_serious: bool | None = None
    held_for: tuple[str, str] | None = None


class CallRef(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """What the rules still need of a call once it is folded: a confirmation naming it takes its
    number and case. The call itself stays on the log (a tenth of the memory, and of a checkpoint)."""

    number: str
    case_id: str | None


class Case(msgspec.Struct, gc=False):
    """Mutated in place (transfers, closing); a C-level record the cyclic collector never scans."""

    opened_at: datetime
    account_id: str
    barcode: str
    fault_level: str
    respond_by: datetime
    transfers: tuple[str, ...] = ()
    closed_at: datetime | None = None


@dataclass
class State:
    # The version in force where the fold is: the fold moves it along `history` (projections.fold).
    policy: Policy
    history: PolicyHistory = None  # type: ignore[assignment]  # None: `policy` alone, at every time
    annulled: dict[str, datetime] = field(default_factory=dict)  # violation id -> annulment time
    companies: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    person_accounts: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    devices: dict[str, Device] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    account_certificates: defaultdict[str, list[Certificate]] = field(
        default_factory=lambda: defaultdict(list)
    )
    ratings: defaultdict[tuple[str, str], list[RatingIssued]] = field(
        default_factory=lambda: defaultdict(list)
    )
    calls: dict[str, CallRef] = field(default_factory=dict)  # call id -> what confirmations need
    cases: dict[str, Case] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)
    fraud_reports: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    suspicions: dict[str, Suspicion] = field(default_factory=dict)
    violations: dict[str, Violation] = field(default_factory=dict)
    penalties: dict[str, Penalty] = field(default_factory=dict)
    # Subject kind -> subject -> entries. Annulled penalties stay in `penalties` for the record only.
    blacklist: dict[str, defaultdict[str, list[Penalty]]] = field(
        default_factory=lambda: {kind: defaultdict(list) for kind in ("account", "number", "company")}
    )
    occurrences: defaultdict[tuple[str, str], list[tuple[datetime, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    awaiting_maintenance: defaultdict[tuple[str, str], list[Penalty]] = field(
        default_factory=lambda: defaultdict(list)
    )
    revocations: dict[str, CertificateRevoked] = field(default_factory=dict)
    account_revocations: defaultdict[str, list[CertificateRevoked]] = field(
        default_factory=lambda: defaultdict(list)
    )
    permanent: dict[str, AllCertificatesRevoked] = field(default_factory=dict)
    black_key_events: dict[str, BlackKeyEvent] = field(default_factory=dict)
    plans: dict[str, RectificationPlan] = field(default_factory=dict)
    support_stops: dict[str, SupportStopped] = field(default_factory=dict)
    codes_requests: dict[str, CodesRequested] = field(default_factory=dict)
    warnings: dict[str, Warning] = field(default_factory=dict)
    account_warnings: defaultdict[str, list[Warning]] = field(default_factory=lambda: defaultdict(list))
    rating_ends: dict[str, datetime] = field(default_factory=dict)
    rating_periods: defaultdict[tuple[str, str], list[tuple[datetime, datetime, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    anomalies: list[Anomaly] = field(default_factory=list)
    _times: dict[datetime, datetime] = field(default_factory=dict)
    scheduled: list[tuple[datetime, int, str]] = field(default_factory=list)
    detectors: CallDetectors = field(init=False)
    _scheduled_count: int = 0
    # What a late fact must not cross (projections.late): counts every suspicion raised, violation
    # confirmed, anomaly recorded and deadline scheduled or fired. Not in checkpoints: only its
    # changes across one fact are read.
    effects: int = 0
    # Derived from `blacklist` and `person_accounts`, never written to a checkpoint (`reindex` rebuilds
    # it): the accounts whose partner calls can be blacklist evasion. A call on any other account is
    # settled by one lookup in this small set instead of three in the large account tables.
    evasion_watch: set[str] = field(default_factory=set)
    _account_persons: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _tainted_persons: set[str] = field(default_factory=set)  # persons with a blacklisted account
    # Derived from `pending` (status "held"), rebuilt by `reindex`: barcode -> the held confirmations
    # waiting for that device, in the order they were held.
    held: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Seeds 002 and 004 (projections.sla, .quarterly, .tiers), written to checkpoints.
    service: ServiceBook = field(default_factory=ServiceBook)
    # Derived, never written to a checkpoint: customer -> warranty ends of its devices, sorted; built from
    # `devices` on the first tier query, then kept up to date by the fold (projections.tiers).
    warranty_index: dict[str, list[datetime]] | None = None
    # The calendar quarter the fold is in, on the policy's calendar (projections.quarterly.QuarterSpan).
    quarter_span: tuple[Policy, datetime, datetime, str, dict[str, int]] | None = None

    def __post_init__(self) -> None:
        if self.history is None:
            self.history = PolicyHistory([self.policy])
        self.detectors = CallDetectors(self.policy)

    # --- the evasion watch -------------------------------------------------------------------------
    # Evasion needs a blacklisted account: the call's own, or another listed under the person of the
    # call's account. The watch holds every blacklisted account and every account listed under a
    # person who has one. It only grows (entries are never removed from the blacklist index), and is a
    # superset of what evasion can find, so `_evasion` still decides exactly as before on it.
    def account_listed(self, person_id: str, account_id: str) -> None:
        """`account_id` was just appended to `person_accounts[person_id]`."""
        self._account_persons[account_id].append(person_id)
        if person_id in self._tainted_persons:
            self.evasion_watch.add(account_id)
        elif self.blacklist["account"].get(account_id):  # blacklisted before it was listed here
            self._taint(person_id)

    def account_blacklisted(self, account_id: str) -> None:
        """A penalty in force was just filed under `blacklist["account"][account_id]`."""
        self.evasion_watch.add(account_id)
        for person_id in self._account_persons.get(account_id, ()):
            if person_id not in self._tainted_persons:
                self._taint(person_id)

    def persons_of(self, account_id: str) -> list[str]:
        """The persons an account is listed under (one, unless it was opened again for another)."""
        return self._account_persons.get(account_id, [])

    def fellow_accounts(self, account_id: str) -> set[str]:
        """The account and every account listed under a person it is listed under (whose calls
        evasion judges by its blacklist entries)."""
        found = {account_id}
        for person_id in self.persons_of(account_id):
            found.update(self.person_accounts.get(person_id, ()))
        return found

    def _taint(self, person_id: str) -> None:
        self._tainted_persons.add(person_id)
        self.evasion_watch.update(self.person_accounts.get(person_id, ()))

    def reindex(self) -> None:
        """Rebuild the derived indexes from the tables (after a thaw)."""
        self.evasion_watch = set()
        self._account_persons = defaultdict(list)
        self._tainted_persons = set()
        for person_id, account_ids in self.person_accounts.items():
            for account_id in account_ids:
                self._account_persons[account_id].append(person_id)
        for account_id, entries in self.blacklist["account"].items():
            if entries:
                self.account_blacklisted(account_id)
        self.held = defaultdict(list)
        waiting = sorted((p.held_at, p.id, p.held_for) for p in self.pending.values() if p.status == "held")
        for _, pending_id, (_, key) in waiting:  # type: ignore[misc]
            self.held[key].append(pending_id)

    def shared(self, t: datetime) -> datetime:
        """One object per distinct instant: millions of devices share a few thousand warranty dates."""
        return self._times.setdefault(t, t)

    def schedule(self, at: datetime, violation_id: str) -> None:
        """A deadline to check later; the counter keeps same-instant deadlines in fold order."""
        self._scheduled_count += 1
        self.effects += 1
        heapq.heappush(self.scheduled, (at, self._scheduled_count, violation_id))

    # --- time-indexed queries (admission, views) ---------------------------------------------------
    def active_penalties(self, kind: str, subject: str, t: datetime) -> list[Penalty]:
        entries = self.blacklist[kind].get(subject)
        return [p for p in entries if p.covers(t)] if entries else []

    def account_at(self, account_id: str, t: datetime) -> Account | None:
        account = self.accounts.get(account_id)
        return account if account is not None and account.at <= t else None

    def permanent_revocation(self, account_id: str, t: datetime) -> AllCertificatesRevoked | None:
        done = self.permanent.get(account_id)
        return done if done is not None and done.at <= t else None

    def valid_certificates(self, account_id: str, product_line: str, t: datetime) -> list[str]:
        """Certificates valid at t and not revoked by then (all are, after the third revocation)."""
        if self.permanent_revocation(account_id, t) is not None:
            return []
        valid = []
        for cert in self.account_certificates.get(account_id, ()):
            if cert.product_line == product_line and cert.at <= t < cert.valid_until:
                revoked = self.revocations.get(cert.certificate_id)
                if revoked is None or revoked.annulled_at is not None or t < revoked.at:
                    valid.append(cert.certificate_id)
        return valid

    def rated(self, company_id: str, product_line: str, t: datetime) -> bool:
        """Whether the company holds a rating of the minimum stars or more for the line at t."""
        for start, end, stars in self.rating_periods.get((company_id, product_line), ()):
            if start <= t < end and stars >= self.history.at(t).minimum_stars:
                return True
        return False

    def add_rating(self, rating: RatingIssued) -> None:
        """A rating lasts one calendar year from issue; its end is computed once, here."""
        end = add_months(rating.at, self.policy.rating_valid_months, self.policy.tz)
        self.ratings[(rating.company_id, rating.product_line)].append(rating)
        self.rating_periods[(rating.company_id, rating.product_line)].append((rating.at, end, rating.stars))
        self.rating_ends[rating.id] = end

    def rating_end(self, rating: RatingIssued) -> datetime:
        return self.rating_ends[rating.id]

    def device(self, barcode: str) -> Device | None:
        return self.devices.get(barcode)
