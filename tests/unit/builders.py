"""Small fact builders for the unit tests of RULES.md.

Times are strings in the line's calendar: "2025-01-31T10:00" means 10:00 in Asia/Shanghai (+08:00);
an explicit offset ("2025-01-30T17:00+00:00") is kept as given. Every builder returns one fact;
`world()` returns the reference data of a typical partner (company, engineer, device, certificate,
rating) so that each test only adds the activity it is about.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime

from domain.admission import admit_call
from domain.policy import load_policy
from projections.fold import project
from projections.state import State
from schemas import facts as f
from schemas.codec import normalise
from schemas.derived import CallRequest

POLICY = load_policy()
SRC = "test"

_ids = itertools.count(1)


def t(s: str | datetime) -> datetime:
    """A time string in Asia/Shanghai local time unless it carries its own offset."""
    if isinstance(s, datetime):
        return s
    if len(s) == 10:  # a bare date: 10:00 on that day
        s = s + "T10:00"
    has_offset = s.endswith("Z") or "+" in s[10:] or "-" in s[10:]
    return datetime.fromisoformat(s if has_offset else s + "+08:00")


def _id(given: str | None, prefix: str) -> str:
    return given if given is not None else f"{prefix}-{next(_ids)}"


# --- reference data ---------------------------------------------------------------------------------
def company(company_id: str = "co1", at: str = "2020-01-01", *, id: str | None = None) -> f.CompanyRegistered:
    return f.CompanyRegistered(
        id=_id(id, "company"), at=t(at), source=SRC, company_id=company_id, name=f"Company {company_id}"
    )


def account(
    account_id: str = "a1",
    company_id: str = "co1",
    person: str | None = None,
    at: str = "2020-01-01",
    *,
    authorised: bool = True,
    id: str | None = None,
) -> f.AccountOpened:
    return f.AccountOpened(
        id=_id(id, "account"),
        at=t(at),
        source=SRC,
        account_id=account_id,
        company_id=company_id,
        person_id=person or f"person-{account_id}",
        authorised=authorised,
    )


def device(
    barcode: str = "BC1",
    model: str = "M1",
    line: str = "L1",
    customer: str = "cu1",
    site: str = "s1",
    warranty_end: str = "2099-01-01",
    at: str = "2020-01-01",
    *,
    id: str | None = None,
) -> f.DeviceInstalled:
    return f.DeviceInstalled(
        id=_id(id, "device"),
        at=t(at),
        source=SRC,
        barcode=barcode,
        product_model=model,
        product_line=line,
        customer_id=customer,
        site_id=site,
        warranty_end=t(warranty_end),
    )


def cert(
    certificate_id: str = "c1",
    account_id: str = "a1",
    line: str = "L1",
    at: str = "2020-01-01",
    valid_until: str = "2099-01-01",
    *,
    id: str | None = None,
) -> f.CertificateGranted:
    return f.CertificateGranted(
        id=_id(id, "cert"),
        at=t(at),
        source=SRC,
        certificate_id=certificate_id,
        account_id=account_id,
        product_line=line,
        valid_until=t(valid_until),
    )


def rating(
    company_id: str = "co1",
    line: str = "L1",
    stars: int = 3,
    at: str = "2025-01-01",
    *,
    id: str | None = None,
) -> f.RatingIssued:
    return f.RatingIssued(
        id=_id(id, "rating"), at=t(at), source=SRC, company_id=company_id, product_line=line, stars=stars
    )


def maintenance(company_id: str, customer_id: str, at: str, *, id: str | None = None) -> f.MaintenanceAgreed:
    return f.MaintenanceAgreed(
        id=_id(id, "maint"), at=t(at), source=SRC, company_id=company_id, customer_id=customer_id
    )


# --- call centre ------------------------------------------------------------------------------------
def call(
    call_id: str,
    at: str,
    account_id: str = "a1",
    number: str = "+8613800000001",
    barcode: str = "BC1",
    model: str = "M1",
    site: str = "s1",
    problem: str = "disk failure",
    *,
    ended_at: str | None = None,
    case_id: str | None = None,
    channel: str = "partner",
) -> f.CallReceived:
    return f.CallReceived(
        id=call_id,
        at=t(at),
        source=SRC,
        account_id=account_id,
        number=number,
        barcode=barcode,
        stated_model=model,
        stated_site=site,
        problem=problem,
        channel=channel,  # type: ignore[arg-type]
        ended_at=t(ended_at) if ended_at else None,
        case_id=case_id,
    )


def case(
    case_id: str,
    call_id: str,
    at: str,
    account_id: str = "a1",
    barcode: str = "BC1",
    problem: str = "disk failure",
    fault_level: str = "L2",
    *,
    id: str | None = None,
) -> f.CaseOpened:
    return f.CaseOpened(
        id=_id(id, "case"),
        at=t(at),
        source=SRC,
        case_id=case_id,
        call_id=call_id,
        account_id=account_id,
        barcode=barcode,
        fault_level=fault_level,  # type: ignore[arg-type]
        problem=problem,
    )


# --- reports, judgements, corrections -----------------------------------------------------------------
def report(
    rid: str,
    rule: str,
    at: str,
    account_id: str = "a1",
    *,
    number: str | None = None,
    call_id: str | None = None,
    case_id: str | None = None,
    certificate_id: str | None = None,
    device_barcode: str | None = None,
    serious: bool | None = None,
    occurred_at: str | None = None,
) -> f.ViolationReported:
    return f.ViolationReported(
        id=rid,
        at=t(at),
        source=SRC,
        rule=rule,
        account_id=account_id,  # type: ignore[arg-type]
        number=number,
        call_id=call_id,
        case_id=case_id,
        certificate_id=certificate_id,
        device_barcode=device_barcode,
        serious=serious,
        occurred_at=t(occurred_at) if occurred_at else None,
    )


def confirm(
    violation_id: str, at: str, *, serious: bool | None = None, id: str | None = None
) -> f.ViolationConfirmed:
    return f.ViolationConfirmed(
        id=_id(id, "confirm"), at=t(at), source=SRC, violation_id=violation_id, serious=serious
    )


def dismiss(violation_id: str, at: str, *, id: str | None = None) -> f.ViolationDismissed:
    return f.ViolationDismissed(id=_id(id, "dismiss"), at=t(at), source=SRC, violation_id=violation_id)


def exam(
    certificate_id: str, at: str, account_id: str = "a1", passed: bool = False, *, id: str | None = None
) -> f.CertificateExamResult:
    return f.CertificateExamResult(
        id=_id(id, "exam"),
        at=t(at),
        source=SRC,
        certificate_id=certificate_id,
        account_id=account_id,
        passed=passed,
    )


def codes(violation_id: str, at: str, result: str, *, id: str | None = None) -> f.BarcodeCodesResult:
    return f.BarcodeCodesResult(
        id=_id(id, "codes"), at=t(at), source=SRC, violation_id=violation_id, result=result
    )  # type: ignore[arg-type]


def warning(account_id: str, rule: str, at: str, *, id: str | None = None) -> f.WarningIssued:
    return f.WarningIssued(id=_id(id, "warning"), at=t(at), source=SRC, account_id=account_id, rule=rule)  # type: ignore[arg-type]


def lift(penalty_id: str, at: str, *, id: str | None = None) -> f.PenaltyLifted:
    return f.PenaltyLifted(id=_id(id, "lift"), at=t(at), source=SRC, penalty_id=penalty_id, reason="clemency")


def annul(violation_id: str, at: str, *, id: str | None = None) -> f.ViolationAnnulled:
    return f.ViolationAnnulled(
        id=_id(id, "annul"), at=t(at), source=SRC, violation_id=violation_id, reason="found false"
    )


def submitted(plan_id: str, at: str, *, id: str | None = None) -> f.RectificationSubmitted:
    return f.RectificationSubmitted(id=_id(id, "submit"), at=t(at), source=SRC, plan_id=plan_id)


def accepted(plan_id: str, at: str, *, id: str | None = None) -> f.RectificationAccepted:
    return f.RectificationAccepted(id=_id(id, "accept"), at=t(at), source=SRC, plan_id=plan_id)


def staff(rid: str, rule: str, reported: str, confirmed: str, **kw) -> list[f.Fact]:
    """A staff report and its confirmation."""
    return [report(rid, rule, reported, **kw), confirm(rid, confirmed)]


# --- worlds and folding -----------------------------------------------------------------------------
NUMBER = "+8613800000001"
OTHER_NUMBER = "+8613800000002"


def world(accounts: Iterable[str] = ("a1",), company_id: str = "co1") -> list[f.Fact]:
    """One company rated 3 stars on L1, engineers with a certificate on L1 each, and device BC1
    (model M1, customer cu1, site s1, in warranty)."""
    out: list[f.Fact] = [company(company_id), device(), rating(company_id, "L1", 3, "2025-01-01")]
    for a in accounts:
        out += [account(a, company_id), cert(f"cert-{a}", a)]
    return out


def fold(facts: Iterable[f.Fact], as_of: str | datetime | None = None, *, utc: bool = True) -> State:
    """Project the facts (normalised to UTC as at the edge, unless utc=False)."""
    facts = [normalise(x) for x in facts] if utc else list(facts)
    return project(facts, POLICY, t(as_of) if as_of is not None else None)


def request(
    account_id: str = "a1", number: str = NUMBER, barcode: str = "BC1", model: str = "M1", site: str = "s1"
) -> CallRequest:
    return CallRequest(
        account_id=account_id, number=number, barcode=barcode, stated_model=model, stated_site=site
    )


def admit(state: State, at: str, **kw) -> list[str]:
    """The reason codes refusing the request at `at` (empty: admitted)."""
    return [r.code for r in admit_call(state, request(**kw), t(at), POLICY)]


def blacklisted(state: State, kind: str, subject: str, at: str) -> bool:
    return bool(state.active_penalties(kind, subject, t(at)))


def period(state: State, penalty_id: str) -> tuple[datetime, datetime | None]:
    p = state.penalties[penalty_id]
    return p.at, p.until


def penalty_ids(state: State, live_only: bool = True) -> set[str]:
    return {pid for pid, p in state.penalties.items() if not live_only or p.annulled_at is None}
