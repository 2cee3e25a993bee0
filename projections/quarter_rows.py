"""The quarterly report as rows (seed 004): per company, one calendar quarter on the line's calendar,
calls, cases, SLA attainment, confirmed violations, penalties and the priority tier.

A row is a function of the facts with event time up to the quarter's last instant: the state is
folded to that instant (`last_instant`), so facts dated later (a case answered in the next quarter,
a device installed after it) never change a quarter that is over. Rows are sorted by company, and
nothing in them depends on when the report is run: the same log gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, tzinfo

import msgspec

from projections.quarterly import QuarterlyReport, quarterly_reports
from projections.quarters import quarter_bounds
from projections.state import State
from projections.tiers import priority_tier, priority_tiers


class QuarterRow(msgspec.Struct, kw_only=True):
    company_id: str
    quarter: str
    calls: int
    cases: int
    response_met: int
    response_breached: int
    response_open: int
    response_attainment: float | None  # met / (met + breached); None while no case is settled
    resolution_met: int
    resolution_breached: int
    resolution_open: int
    violations: int
    violations_by_rule: dict[str, int]
    penalties: int
    units_in_warranty: int  # at the quarter's last instant
    priority_tier: list[str]  # the seed 004 services that base qualifies for (empty: none)


def last_instant(quarter: str, tz: tzinfo) -> datetime:
    """The quarter's last instant (its end is exclusive: midnight on the 1st belongs to the next).
    ValueError naming the label when it is not a quarter like 2025Q1."""
    _, end = quarter_bounds(quarter, tz)
    return end - timedelta(microseconds=1)


def quarter_rows(state: State, quarter: str, company_id: str | None = None) -> list[QuarterRow]:
    """One row per company (registered, or with activity in the quarter), or the one asked for.
    `state`: folded to `last_instant(quarter, ...)`."""
    at = last_instant(quarter, state.policy.tz)
    reports = {r.company_id: r for r in quarterly_reports(state, at, company_id, quarter)}
    if company_id is not None:
        tiers = {company_id: priority_tier(state, company_id, at)}
    else:
        tiers = {t.company_id: t for t in priority_tiers(state, at)}
    companies = {company_id} if company_id is not None else set(state.companies) | set(reports)
    rows = []
    for company in sorted(companies):
        r = reports.get(company) or QuarterlyReport(company_id=company, quarter=quarter)
        tier = tiers.get(company)
        rows.append(
            QuarterRow(
                company_id=company,
                quarter=quarter,
                calls=r.calls,
                cases=r.cases,
                response_met=r.response_met,
                response_breached=r.response_breached,
                response_open=r.response_open,
                response_attainment=r.response_attainment,
                resolution_met=r.resolution_met,
                resolution_breached=r.resolution_breached,
                resolution_open=r.resolution_open,
                violations=r.violations,
                violations_by_rule=dict(sorted(r.violations_by_rule.items())),
                penalties=r.penalties,
                units_in_warranty=tier.units_in_warranty if tier else 0,
                priority_tier=list(tier.eligible) if tier else [],
            )
        )
    return rows


#: The CSV columns, in order (the struct's fields).
COLUMNS: tuple[str, ...] = QuarterRow.__struct_fields__


def as_csv(rows: list[QuarterRow]) -> bytes:
    """CSV with a header; lists and maps as `a;b` and `RULE=n;RULE=n`, an unknown ratio empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        cells: list[object] = []
        for name in COLUMNS:
            value = getattr(row, name)
            if isinstance(value, dict):
                value = ";".join(f"{k}={n}" for k, n in value.items())
            elif isinstance(value, list):
                value = ";".join(value)
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return out.getvalue().encode()


def as_json(rows: list[QuarterRow]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(rows, order="deterministic"), indent=2) + b"\n"
