"""Why is this subject where it is? The chain from facts to violations to penalties, in time order."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from domain.phone import as_subject
from projections.state import State
from projections.view import penalty_status, plan_status
from schemas.derived import Derived, Penalty, Violation


class Link(msgspec.Struct, kw_only=True):
    at: datetime
    kind: str  # violation | penalty | revocation | warning | black key event | plan | suspicion | held
    id: str
    detail: str
    causes: tuple[str, ...]
    policy_version: str
    status: str = ""


class Explanation(msgspec.Struct, kw_only=True):
    subject_kind: str
    subject: str
    as_of: datetime | None
    known: bool
    blacklisted: bool
    chain: list[Link]


def _link(event: Derived, kind: str, detail: str, status: str) -> Link:
    return Link(
        at=event.at,
        kind=kind,
        id=event.id,
        detail=detail,
        causes=event.causes,
        policy_version=event.policy_version,
        status=status,
    )


def _void(event: Derived, otherwise: str) -> str:
    return "annulled" if getattr(event, "annulled_at", None) else otherwise


def _violation(v: Violation) -> Link:
    detail = f"{v.rule} by account {v.account_id}" + (f" from {v.number}" if v.number else "")
    return _link(v, "violation", f"{detail}, occurred {v.occurred_at.isoformat()}", _void(v, "confirmed"))


def _penalty(p: Penalty, as_of: datetime | None) -> Link:
    end = p.end()
    period = f"{p.at.isoformat()} until {end.isoformat() if end else 'for ever'}"
    return _link(p, "penalty", f"{p.subject_kind} blacklisted {period} ({p.rule})", penalty_status(p, as_of))


def _account_links(state: State, account_id: str) -> list[Link]:
    links = [
        _link(
            r,
            "revocation",
            f"certificate {r.certificate_id} ({r.product_line}) revoked",
            _void(r, "published"),
        )
        for r in state.revocations.values()
        if r.account_id == account_id
    ]
    if (done := state.permanent.get(account_id)) is not None:
        links.append(
            _link(
                done,
                "revocation",
                "third revoked certificate: every certificate revoked for ever",
                "permanent",
            )
        )
    links += [
        _link(w, "warning", f"warning for {w.rule}", _void(w, "recorded"))
        for w in state.warnings.values()
        if w.account_id == account_id
    ]
    return links


def _company_links(state: State, company_id: str, as_of: datetime | None) -> list[Link]:
    links = [
        _link(e, "black key event", "black key event", _void(e, "counted"))
        for e in state.black_key_events.values()
        if e.company_id == company_id
    ]
    links += [
        _link(plan, "plan", f"rectification plan due {plan.due.isoformat()}", plan_status(plan, as_of))
        for plan in state.plans.values()
        if plan.company_id == company_id
    ]
    return links


def _held_links(state: State, kind: str, subject: str) -> list[Link]:
    """Confirmations held for a missing fact (RULES.md "No silent guess"): no outcome yet, and why."""
    links = []
    for p in state.pending.values():
        if p.status != "held" or p.held_at is None:
            continue
        call = state.calls.get(p.call_id) if p.call_id else None
        account = state.accounts.get(p.account_id)
        about = {
            "account": p.account_id,
            "number": p.number or (call.number if call else None),
            "company": account.company_id if account else None,
        }[kind]
        if about == subject:
            waiting = " ".join(p.held_for or ())
            links.append(
                Link(
                    at=p.held_at,
                    kind="held",
                    id=p.id,
                    detail=f"{p.rule} confirmed; decision held until {waiting} is known at its event time",
                    causes=(*p.causes, p.held_by or ""),
                    policy_version=state.policy.version,
                    status="held",
                )
            )
    return links


def explain(state: State, kind: str, subject: str, as_of: datetime | None) -> Explanation:
    if kind == "number":  # any spelling of a number is the one subject (RULES.md)
        subject = as_subject(subject)
    # No as-of time means now, as for `state`: an entry that has expired must not read as blacklisted
    # (it did, judged at the latest link's time, when every penalty was over by now).
    now = as_of if as_of is not None else datetime.now(UTC)
    penalties = [p for p in state.penalties.values() if p.subject_kind == kind and p.subject == subject]
    about = {"account": "account_id", "number": "number", "company": "company_id"}[kind]
    violation_ids = {p.violation_id for p in penalties}
    violation_ids |= {v.id for v in state.violations.values() if getattr(v, about) == subject}
    chain = [_violation(state.violations[vid]) for vid in violation_ids]
    chain += [_penalty(p, now) for p in penalties]
    if kind == "account":
        chain += _account_links(state, subject)
    elif kind == "company":
        chain += _company_links(state, subject, now)
    if kind != "company":
        chain += [
            _link(s, "suspicion", f"{s.rule}: {s.detail}", "awaiting staff")
            for s in state.suspicions.values()
            if state.pending[s.id].status == "open" and getattr(s, about) == subject
        ]
    chain += _held_links(state, kind, subject)
    chain.sort(key=lambda link: (link.at, link.kind, link.id))
    known = {
        "account": subject in state.accounts,
        "company": subject in state.companies,
        "number": bool(chain) or any(c.number == subject for c in state.calls.values()),
    }[kind]
    blacklisted = bool(state.active_penalties(kind, subject, now))
    return Explanation(
        subject_kind=kind, subject=subject, as_of=as_of, known=known, blacklisted=blacklisted, chain=chain
    )
