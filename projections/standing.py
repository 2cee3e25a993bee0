"""Is this subject blacklisted at T, until when, why, and what would lift it? (RULES.md "Blacklist
periods are a union": blacklisted at T when any unlifted entry covers T; permanent wins.)

The answer is the merged period that holds T: overlapping and adjacent entries merge, so "until" is
the end of the union, not of the first entry found. A period that is over never reads as blacklisted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from domain.phone import as_subject
from projections.state import State
from projections.view import penalty_status
from schemas.derived import Penalty

#: The rule whose company penalty ends with a maintenance agreement rather than at a date (RULES.md).
_ENDS_WITH_MAINTENANCE = "BARCODE-SWAP-OUT-OF-WARRANTY"


class Period(msgspec.Struct, frozen=True):
    """[start, end) of a merged blacklist period; `end` None: for ever."""

    start: datetime
    end: datetime | None


class Reason(msgspec.Struct, kw_only=True):
    penalty_id: str
    rule: str
    violation_id: str
    start: datetime
    until: datetime | None  # None: no end date
    policy_version: str
    status: str  # in force | not yet (a later entry that lengthens the same period)


class Standing(msgspec.Struct, kw_only=True):
    subject_kind: str
    subject: str
    as_of: datetime
    known: bool
    blacklisted: bool
    until: datetime | None = None  # end of the merged period; None with blacklisted: for ever
    reasons: list[Reason] = []
    lifted_by: list[str] = []  # what would end it, in words
    linked: list[Standing] = []  # a person's accounts and numbers
    # Not a blacklist entry, but the line refuses the account for ever all the same (three strikes):
    # when its third revoked certificate revoked them all.
    all_certificates_revoked_at: datetime | None = None


def periods(penalties: Iterable[Penalty]) -> list[Period]:
    """The union of the entries' periods, in time order; annulled entries count for nothing, and a
    lifted or ended entry counts up to its lift or ending (`Penalty.end`)."""
    spans = sorted(
        ((p.at, p.end()) for p in penalties if p.annulled_at is None),
        key=lambda span: span[0],
    )
    merged: list[Period] = []
    for start, end in spans:
        if end is not None and end <= start:  # lifted at its start: it never covered anything
            continue
        if merged and (merged[-1].end is None or start <= merged[-1].end):  # overlap or adjacent
            last = merged[-1]
            longer = None if last.end is None or end is None else max(last.end, end)
            merged[-1] = Period(last.start, longer)
        else:
            merged.append(Period(start, end))
    return merged


def period_at(penalties: Iterable[Penalty], t: datetime) -> Period | None:
    """The merged period that covers t, or None when t is outside every period."""
    for period in periods(penalties):
        if period.start <= t and (period.end is None or t < period.end):
            return period
    return None


def _in_period(p: Penalty, period: Period) -> bool:
    return p.annulled_at is None and period.start <= p.at and (period.end is None or p.at < period.end)


def _maintenance_customer(state: State, p: Penalty) -> str | None:
    for (company, customer), waiting in state.awaiting_maintenance.items():
        if company == p.subject and any(w.id == p.id for w in waiting):
            return customer
    return None


def _lifted_by(state: State, entries: list[Penalty], period: Period) -> list[str]:
    """What would end the period: its date, or for an open-ended entry the condition that ends it.
    Staff annulling every violation behind it (or a lift, clemency) always ends it early."""
    out = []
    if period.end is not None:
        out.append("time: the period ends by itself (its until)")
    for p in entries:
        if p.until is not None:
            continue
        customer = _maintenance_customer(state, p) if p.rule == _ENDS_WITH_MAINTENANCE else None
        if customer is not None:
            out.append(f"a maintenance agreement for customer {customer} ends {p.id}")
        else:
            out.append(f"nothing: {p.id} is permanent; only staff annulling {p.violation_id}")
    violations = ", ".join(sorted({p.violation_id for p in entries}))
    out.append(f"staff annulling {violations} (or lifting each entry: clemency)")
    return out


def standing(state: State, kind: str, subject: str, t: datetime) -> Standing:
    """The subject's standing at t, from a state folded to t. `kind`: account, number or company
    (for a person see `person_standing`)."""
    if kind == "number":  # any spelling of a number is the one subject (RULES.md)
        subject = as_subject(subject)
    entries = state.blacklist[kind].get(subject) or []
    known = {
        "account": lambda: subject in state.accounts,
        "company": lambda: subject in state.companies,
        "number": lambda: bool(entries) or any(c.number == subject for c in state.calls.values()),
    }[kind]()
    period = period_at(entries, t)
    done = state.permanent_revocation(subject, t) if kind == "account" else None
    revoked_at = done.at if done is not None else None
    if period is None:
        return Standing(
            subject_kind=kind,
            subject=subject,
            as_of=t,
            known=known,
            blacklisted=False,
            all_certificates_revoked_at=revoked_at,
        )
    # what holds the period from t on: entries over before t no longer bear on "until"
    behind = sorted(
        (p for p in entries if _in_period(p, period) and ((end := p.end()) is None or end > t)),
        key=lambda p: (p.at, p.id),
    )
    reasons = [
        Reason(
            penalty_id=p.id,
            rule=p.rule,
            violation_id=p.violation_id,
            start=p.at,
            until=p.end(),
            policy_version=p.policy_version,
            status=penalty_status(p, t),
        )
        for p in behind
    ]
    return Standing(
        subject_kind=kind,
        subject=subject,
        as_of=t,
        known=known,
        blacklisted=True,
        until=period.end,
        reasons=reasons,
        lifted_by=_lifted_by(state, behind, period),
        all_certificates_revoked_at=revoked_at,
    )


def person_numbers(state: State, account_ids: list[str]) -> list[str]:
    """The numbers tied to a person: those their accounts' violations came from. (The fold keeps no
    account per call, so a number the person only called from, without a violation, is not known.)"""
    mine = set(account_ids)
    return sorted({v.number for v in state.violations.values() if v.account_id in mine and v.number})


def person_standing(state: State, person_id: str, t: datetime) -> Standing:
    """A person is blacklisted when any of their accounts or numbers is; each is listed under `linked`."""
    accounts = sorted(a for a in state.person_accounts.get(person_id, ()) if a in state.accounts)
    linked = [standing(state, "account", a, t) for a in accounts]
    linked += [standing(state, "number", n, t) for n in person_numbers(state, accounts)]
    return Standing(
        subject_kind="person",
        subject=person_id,
        as_of=t,
        known=bool(accounts),
        blacklisted=any(s.blacklisted for s in linked),
        linked=linked,
    )
