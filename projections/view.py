"""The state as people read it at an as-of time, and its digest (equal states, equal digests)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import msgspec

from domain.calendar import within_one_year
from projections.quarterly import QuarterlyReport, quarterly_reports
from projections.ratings import RatingView, rating_views
from projections.sla import Attainment, attainment, breaches, clocks
from projections.state import State
from projections.tiers import Tier, priority_tiers
from schemas.derived import (
    Anomaly,
    BlackKeyEvent,
    CertificateRevoked,
    CodesRequested,
    Penalty,
    RectificationPlan,
    SlaBreach,
    SupportStopped,
    Suspicion,
    Violation,
    Warning,
)


def utc(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(UTC)


class BlacklistEntry(msgspec.Struct, kw_only=True):
    penalty: Penalty
    status: str  # in force | expired | lifted | ended | annulled | not yet


class CompanyCounter(msgspec.Struct, kw_only=True):
    company_id: str
    counter: str
    in_rolling_year: int
    violation_ids: list[str]


class CertificateTally(msgspec.Struct, kw_only=True):
    account_id: str
    revoked: list[str]
    all_revoked_at: datetime | None


class PlanView(msgspec.Struct, kw_only=True):
    plan: RectificationPlan
    status: str  # required | overdue | submitted | accepted | annulled


class CaseView(msgspec.Struct, kw_only=True):
    case_id: str
    opened_at: datetime
    account_id: str
    barcode: str
    fault_level: str
    respond_by: datetime
    closed_at: datetime | None
    transfers: tuple[str, ...]
    support_stopped: list[SupportStopped]


class HeldDecision(msgspec.Struct, kw_only=True):
    """A confirmation whose outcome waits for a fact not known at its event time (RULES.md "No silent
    guess"): decided when that fact takes effect, never guessed."""

    violation_id: str
    rule: str  # as reported; the outcome is decided on release
    account_id: str
    held_at: datetime  # the confirmation's event time
    confirmed_by: str
    waiting_for: str  # e.g. "barcode BCB": its device.installed
    annulled_at: datetime | None


class Snapshot(msgspec.Struct, kw_only=True):
    as_of: datetime | None
    policy_version: str
    blacklist: list[BlacklistEntry]
    company_counters: list[CompanyCounter]
    certificate_tallies: list[CertificateTally]
    public_notices: list[CertificateRevoked]
    black_key_events: list[BlackKeyEvent]
    rectification_plans: list[PlanView]
    cases: list[CaseView]
    ratings: list[RatingView]
    violations: list[Violation]
    open_suspicions: list[Suspicion]
    codes_requests: list[CodesRequested]
    warnings: list[Warning]
    anomalies: list[Anomaly]
    held: list[HeldDecision] = []  # decisions waiting for a missing fact (RULES.md "No silent guess")
    # seeds 002 and 004 (docs/sla.md)
    sla_attainment: list[Attainment] = []
    sla_breaches: list[SlaBreach] = []
    priority_tiers: list[Tier] = []
    quarterly_reports: list[QuarterlyReport] = []


def penalty_status(p: Penalty, t: datetime | None) -> str:
    if p.annulled_at is not None:
        return "annulled"
    if t is not None and t < p.at:
        return "not yet"
    end = p.end()
    if end is None or (t is not None and t < end):
        return "in force"
    if p.lifted_at is not None and end == p.lifted_at:
        return "lifted"
    return "ended" if p.ended_at is not None and end == p.ended_at else "expired"


def plan_status(plan: RectificationPlan, t: datetime | None) -> str:
    if plan.annulled_at is not None:
        return "annulled"
    if plan.accepted_at is not None:
        return "accepted"
    if plan.submitted_at is not None:
        return "submitted"
    return "overdue" if t is not None and t > plan.due else "required"


def company_counters(state: State, t: datetime | None) -> list[CompanyCounter]:
    out = []
    for (company, counter), occurrences in sorted(state.occurrences.items()):
        recent = [v for at, v in occurrences if t is None or within_one_year(at, t, state.policy.tz)]
        out.append(
            CompanyCounter(
                company_id=company, counter=counter, in_rolling_year=len(recent), violation_ids=recent
            )
        )
    return out


def certificate_tallies(state: State) -> list[CertificateTally]:
    """Each account's revoked certificates (three strikes), by account id."""
    return [
        CertificateTally(
            account_id=a,
            revoked=[r.certificate_id for r in tally],
            all_revoked_at=state.permanent[a].at if a in state.permanent else None,
        )
        for a, tally in sorted(state.account_revocations.items())
    ]


def _cases(state: State) -> list[CaseView]:
    stops: dict[str, list[SupportStopped]] = {}
    for stop in sorted(state.support_stops.values(), key=lambda s: (s.at, s.id)):
        stops.setdefault(stop.case_id, []).append(stop)
    return [
        CaseView(
            case_id=cid,
            opened_at=c.opened_at,
            account_id=c.account_id,
            barcode=c.barcode,
            fault_level=c.fault_level,
            respond_by=c.respond_by,
            closed_at=c.closed_at,
            transfers=c.transfers,
            support_stopped=stops.get(cid, []),
        )
        for cid, c in sorted(state.cases.items())
    ]


def snapshot(state: State, as_of: datetime | None) -> Snapshot:
    case_clocks = clocks(state, as_of)
    by_id = sorted
    return Snapshot(
        as_of=utc(as_of),
        policy_version=state.policy.version,
        blacklist=[
            BlacklistEntry(penalty=p, status=penalty_status(p, as_of))
            for _, p in by_id(state.penalties.items())
        ],
        company_counters=company_counters(state, as_of),
        certificate_tallies=certificate_tallies(state),
        public_notices=[r for _, r in by_id(state.revocations.items()) if r.annulled_at is None],
        black_key_events=[e for _, e in by_id(state.black_key_events.items())],
        rectification_plans=[
            PlanView(plan=p, status=plan_status(p, as_of)) for _, p in by_id(state.plans.items())
        ],
        cases=_cases(state),
        ratings=rating_views(state, as_of),
        violations=[v for _, v in by_id(state.violations.items())],
        open_suspicions=[
            state.suspicions[k]
            for k, p in by_id(state.pending.items())
            if p.status == "open" and k in state.suspicions
        ],
        codes_requests=[r for _, r in by_id(state.codes_requests.items())],
        warnings=[w for _, w in by_id(state.warnings.items())],
        anomalies=sorted(state.anomalies, key=lambda a: (a.fact_id, a.reason)),
        held=held_decisions(state),
        sla_attainment=attainment(case_clocks),
        sla_breaches=breaches(state, as_of, case_clocks),
        priority_tiers=priority_tiers(state, utc(as_of)),
        quarterly_reports=quarterly_reports(state, as_of, found=case_clocks),
    )


def held_decisions(state: State) -> list[HeldDecision]:
    return [
        HeldDecision(
            violation_id=p.id,
            rule=p.rule,
            account_id=p.account_id,
            held_at=p.held_at,
            confirmed_by=p.held_by or "",
            waiting_for=" ".join(p.held_for or ()),
            annulled_at=state.annulled.get(p.id),
        )
        for _, p in sorted(state.pending.items())
        if p.status == "held" and p.held_at is not None
    ]


def digest(snap: Snapshot) -> str:
    """SHA-256 over a canonical encoding (sorted keys). Facts enter in UTC, so every time is UTC."""
    return hashlib.sha256(msgspec.json.encode(snap, order="deterministic")).hexdigest()
