"""`hotline report quarterly`: the seed 004 quarterly report per company, for a person (a table) or
for a file (JSON or CSV: the same log gives the same bytes, so two runs can be compared with cmp)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from consumers.embedded import DEFAULT_LOG
from hotline import render
from hotline.errors import OperatorError, guarded
from hotline.opening import open_log
from hotline.options import LogOption, PolicyOption
from projections.quarter_rows import QuarterRow, as_csv, as_json, last_instant, quarter_rows

report = typer.Typer(no_args_is_help=True, help="Reports over the log: quarterly per company.")


def _table(rows: list[QuarterRow], quarter: str, zone: str) -> None:
    table = Table(
        title=f"Quarter {render.safe(quarter)} (calendar {render.safe(zone)})",
        caption="SLA: responses met/breached/open; units: installed base under warranty at the quarter's end",
    )
    table.add_column("company", overflow="fold")  # ids are never cropped, only folded
    for name in ("calls", "cases", "SLA", "SLA %", "viol.", "pen.", "units"):
        table.add_column(name, justify="right")
    table.add_column("tier", overflow="fold")
    for r in rows:
        table.add_row(
            render.safe(r.company_id),
            str(r.calls),
            str(r.cases),
            f"{r.response_met}/{r.response_breached}/{r.response_open}",
            "-" if r.response_attainment is None else f"{r.response_attainment:.2%}",
            str(r.violations),
            str(r.penalties),
            str(r.units_in_warranty),
            render.safe(", ".join(r.priority_tier) or "none"),
        )
    render.console.print(table)


@report.command()
@guarded
def quarterly(
    quarter: Annotated[str, typer.Option("--quarter", help="A calendar quarter, e.g. 2025Q1.")],
    company: Annotated[str | None, typer.Option("--company", help="One company (default: all).")] = None,
    format: Annotated[
        Literal["text", "json", "csv"], typer.Option("--format", help="text (a table), json or csv.")
    ] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file (default: stdout).")] = None,
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
) -> None:
    """Per company: calls, cases, SLA attainment, confirmed violations, penalties, priority tier."""
    hl = open_log(log, policy)
    tz = hl.policy.tz
    try:
        at = last_instant(quarter, tz)
    except ValueError:
        raise OperatorError(f"--quarter {quarter!r}: not a quarter like 2025Q1") from None
    state = hl.state(at)  # facts dated after the quarter never change it
    if company is not None and company not in state.companies:
        raise OperatorError(f"--company {company!r}: no company of that id on the log by the quarter's end")
    label = quarter.upper()
    rows = quarter_rows(state, label, company)
    if format == "text":
        if out is not None:
            raise OperatorError("--out: a file takes --format json or csv")
        _table(rows, label, render.zone(tz))
        return
    data = as_json(rows) if format == "json" else as_csv(rows)
    if out is None:
        sys.stdout.buffer.write(data)
        return
    if out.is_dir():
        raise OperatorError(f"--out {out}: is a directory")
    try:
        out.write_bytes(data)
    except OSError as e:
        raise OperatorError(f"--out {out}: cannot be written ({e.strerror or e})") from None
    render.err_console.print(f"{len(rows)} rows written to {render.safe(out)}")
