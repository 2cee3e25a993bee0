"""Seed 002 service levels: a case's SLA clocks, their pauses, breaches and attainment (docs/sla.md).

A case opened at `at` has a response target (policy `response_minutes` by fault level) and, for the
levels in policy `resolution_days` (complaints: 15 days, "half a month"), a resolution target, both
from the policy version in force at the opening. The response target is met by the first
`case.responded`, or by `case.closed` (a case closed unanswered was answered at its closing); the
resolution target by `case.closed`; either strictly before its due time. While the case waits on the
partner (`case.awaiting_partner` until `case.partner_replied`) the clocks stand still: a wait that
starts before a due time moves it on by the wait's length; one that starts at or after it is too late.

A breach (`SlaBreach`) is the event at the instant the due time passes unmet. The fold records only
what happened (the opening, the first response, the waits; the closing is the case's own); the
clocks and breaches are a function of those and of the as-of time (`clocks(state, as_of)`), so the same
facts give the same breaches in any arrival order, and a past as-of sees only the breaches by then.
That costs the fold nothing per case beyond one dict entry: scheduling a deadline per case on the
fold's deadline heap, as the codes deadline does, made the bench fold 1.5x slower (docs/sla.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from projections.consequences import anomaly
from projections.quarters import quarter_span
from projections.service_books import RESOLUTION, RESPONSE, Wait
from schemas.derived import SlaBreach

if TYPE_CHECKING:
    from projections.state import Case, State
    from schemas import facts as f

TARGETS = (RESPONSE, RESOLUTION)


# --- the fold: what happened ---------------------------------------------------------------------------
def timing(rule: Callable[[State, f.CaseOpened], None]) -> Callable[[State, f.CaseOpened], None]:
    """The case-opening handler `rule`, then the opening fact remembered (it runs for every case)."""

    def case_opened(state: State, fact: f.CaseOpened) -> None:
        rule(state, fact)
        book = state.service
        book.opened_by.setdefault(fact.case_id, fact.id)
        if book.active_through is None or fact.at > book.active_through:
            book.active_through = fact.at

    return case_opened


def responded(state: State, fact: f.CaseResponded) -> None:
    if _known(state, fact.case_id, fact) is not None:
        state.service.responses.setdefault(fact.case_id, (fact.at, fact.id))  # the first one counts


def awaiting_partner(state: State, fact: f.CaseAwaitingPartner) -> None:
    case = _known(state, fact.case_id, fact)
    if case is None:
        return
    waits = state.service.waits.setdefault(fact.case_id, [])
    if case.closed_at is not None:
        anomaly(state, fact.id, fact.at, f"case {fact.case_id} is closed: nothing waits on the partner")
    elif waits and waits[-1].end is None:
        anomaly(state, fact.id, fact.at, f"case {fact.case_id} already waits on the partner")
    else:
        waits.append(Wait(fact.at, fact.id))


def partner_replied(state: State, fact: f.CasePartnerReplied) -> None:
    if _known(state, fact.case_id, fact) is None:
        return
    waits = state.service.waits.get(fact.case_id)
    if not waits or waits[-1].end is not None:
        anomaly(state, fact.id, fact.at, f"case {fact.case_id} was not waiting on the partner")
    else:
        waits[-1].end, waits[-1].end_by = fact.at, fact.id


def _known(state: State, case_id: str, fact: f.Fact) -> Case | None:
    case = state.cases.get(case_id)
    if case is None:
        anomaly(state, fact.id, fact.at, f"case {case_id} was never opened")
    return case


# --- reading: the clocks as of a time ------------------------------------------------------------------
class Target(msgspec.Struct, kw_only=True):
    due: datetime | None  # moved on by the waits before it; None while the case waits (paused)
    outcome: str  # met | breached | open
    done_at: datetime | None  # the response (or closing) that met it, or came late


class CaseClock(msgspec.Struct, kw_only=True):
    case_id: str
    company_id: str | None
    fault_level: str
    quarter: str  # of the opening, on the policy's calendar
    opened_at: datetime
    waiting_since: datetime | None  # waiting on the partner at the as-of time
    response: Target
    resolution: Target | None  # None: the level has no resolution target


def _target(
    opened: datetime, span: timedelta, waits: Iterable[Wait], done_at: datetime | None, as_of: datetime | None
) -> Target:
    due: datetime | None = opened + span
    for wait in waits:
        if due is None or wait.start >= due:  # passed before this wait (a deadline precedes its instant)
            break
        if wait.end is None:
            due = None  # paused: no due time until the partner replies
        else:
            due += wait.end - wait.start
    if done_at is not None and (due is None or done_at < due):
        return Target(due=due, outcome="met", done_at=done_at)
    if due is not None and (as_of is None or due <= as_of):
        return Target(due=due, outcome="breached", done_at=done_at)
    return Target(due=due, outcome="open", done_at=done_at)


def clocks(state: State, as_of: datetime | None) -> list[CaseClock]:
    """Every case's clocks at `as_of` (None: after every due time), by case id. The state must be folded
    up to `as_of` (as every view's state is)."""
    book, history = state.service, state.history
    out = []
    span: tuple[datetime, datetime, str] | None = None
    for case_id in sorted(state.cases):
        case = state.cases[case_id]
        policy = state.policy if history.single else history.at(case.opened_at)
        if span is None or not span[0] <= case.opened_at < span[1]:
            span = quarter_span(case.opened_at, policy.tz)
        account = state.accounts.get(case.account_id)
        waits = book.waits.get(case_id, ())
        response = book.responses.get(case_id)
        answered = [t for t in (response[0] if response else None, case.closed_at) if t is not None]
        respond = policy.response_times.get(case.fault_level, timedelta(0))
        days = policy.resolution_days.get(case.fault_level)  # type: ignore[call-overload]  # any str
        out.append(
            CaseClock(
                case_id=case_id,
                company_id=account.company_id if account is not None else None,
                fault_level=case.fault_level,
                quarter=span[2],
                opened_at=case.opened_at,
                waiting_since=waits[-1].start
                if waits and waits[-1].end is None and not case.closed_at
                else None,
                response=_target(case.opened_at, respond, waits, min(answered, default=None), as_of),
                resolution=None
                if days is None
                else _target(case.opened_at, timedelta(days=days), waits, case.closed_at, as_of),
            )
        )
    return out


def breaches(state: State, as_of: datetime | None, found: list[CaseClock] | None = None) -> list[SlaBreach]:
    """The breach events up to `as_of`, by case id and target."""
    book, history = state.service, state.history
    out = []
    for clock in found if found is not None else clocks(state, as_of):
        for target, name in ((clock.response, RESPONSE), (clock.resolution, RESOLUTION)):
            if target is None or target.outcome != "breached" or target.due is None:
                continue
            waits = tuple(w for w in book.waits.get(clock.case_id, ()) if w.start < target.due)
            causes = [book.opened_by.get(clock.case_id, clock.case_id)]
            causes += [i for w in waits for i in (w.start_by, w.end_by) if i is not None]
            out.append(
                SlaBreach(
                    id=f"{clock.case_id}/{name}-breach",
                    at=target.due,
                    policy_version=(state.policy if history.single else history.at(target.due)).version,
                    causes=tuple(causes),
                    case_id=clock.case_id,
                    company_id=clock.company_id,
                    fault_level=clock.fault_level,
                    target=name,
                )
            )
    return out


class Attainment(msgspec.Struct, kw_only=True):
    """Cases of one fault level and target: met, breached and still open (snapshot `sla_attainment`)."""

    company_id: str | None  # None: every company together
    fault_level: str
    target: str
    met: int = 0
    breached: int = 0
    open: int = 0
    ratio: float | None = None  # met / (met + breached), 4 decimals; None while none is settled


def attainment(found: list[CaseClock]) -> list[Attainment]:
    """Per fault level and target, for every company together, then for each company."""
    rows: dict[tuple[str | None, str, str], Attainment] = {}
    for clock in found:
        for target, name in ((clock.response, RESPONSE), (clock.resolution, RESOLUTION)):
            if target is None:
                continue
            for company in (None, clock.company_id or ""):
                key = (company, clock.fault_level, name)
                row = rows.get(key)
                if row is None:
                    row = rows[key] = Attainment(
                        company_id=company, fault_level=clock.fault_level, target=name
                    )
                setattr(row, target.outcome, getattr(row, target.outcome) + 1)
    out = []
    for key in sorted(rows, key=lambda k: (k[0] is not None, k[0] or "", k[1], k[2])):
        row = rows[key]
        settled = row.met + row.breached
        row.ratio = round(row.met / settled, 4) if settled else None
        out.append(row)
    return out
