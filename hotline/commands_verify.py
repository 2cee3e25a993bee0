"""`hotline verify`: check the hash chains of the embedded log (docs/audit.md)."""

from __future__ import annotations

import os

import typer

from consumers.embedded import DEFAULT_LOG
from hotline import render
from hotline.errors import OperatorError, guarded
from hotline.opening import open_log
from hotline.options import Json, LogOption
from storage.chain import Verdict
from storage.log_chain import TABLES, Unchained

#: The exit status when a chain is broken: distinct from an operator mistake (2) or refused lines (3).
TAMPERED = 4


@guarded
def verify(log: LogOption = DEFAULT_LOG, json: Json = False) -> None:
    """Check that no fact or admission decision was altered, removed or reordered since it was written.

    Prints, for the facts and for the decisions, the records checked, the end offset and the chain head
    (note the facts' head elsewhere: a later run that prints another head for the same end offset means
    the log was rewritten). Exit status: 0 both chains intact; 4 a chain is broken, one line names the
    table and the first record altered, removed or reordered; 2 an operator mistake; 1 an internal error.
    """
    hl = open_log(log, None)
    try:
        verdicts = {table: hl.log.verify(table, os.cpu_count() or 1) for table in TABLES}
    except Unchained as e:  # an old log opened read-only: nothing to check against
        raise OperatorError(f"--log {log}: {e}") from None
    if json:
        out: dict[str, object] = {table: _as_json(v) for table, v in verdicts.items()}
        out["intact"] = all(v.intact for v in verdicts.values())
        render.as_json(out)
    else:
        for table, v in verdicts.items():
            checked = "checked" if v.intact else "intact before the break"
            render.console.print(
                f"{table}: {v.records} records {checked}, end offset {v.end_offset}, head {v.head.hex()}"
            )
    broken = [(table, v.first_break) for table, v in verdicts.items() if v.first_break is not None]
    for table, at in broken:  # the two chains are independent: each broken one gets its line
        render.err_console.print(f"[bold red]tampered:[/] {table}: {render.safe(str(at))}")
    if broken:
        raise typer.Exit(TAMPERED)


def _as_json(v: Verdict) -> dict[str, object]:
    at = v.first_break
    return {
        "intact": v.intact,
        "records": v.records,
        "end_offset": v.end_offset,
        "head": v.head.hex(),
        "break": None if at is None else {"offset": at.offset, "kind": at.kind, "detail": at.detail},
    }
