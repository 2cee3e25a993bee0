"""The auditor's commands: `audit` (recorded decisions beside today's answer) and `whatif`."""

from __future__ import annotations

import sys
from typing import Any

import msgspec

from consumers.embedded import DEFAULT_LOG
from hotline import render
from hotline.errors import guarded
from hotline.opening import open_log
from hotline.options import Json, LogOption, PolicyOption


def _print_json(obj: Any) -> None:
    sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(obj), indent=2) + b"\n")


@guarded
def audit(log: LogOption = DEFAULT_LOG, policy: PolicyOption = None, json: Json = False) -> None:
    """Recorded admission decisions that would differ with everything known now (the record stays)."""
    hl = open_log(log, policy)
    rows = hl.audit_decisions()
    differ = [r for r in rows if r.differs]
    if json:
        _print_json({"decisions": len(rows), "would_differ": differ})
        return
    render.console.print(f"{len(rows)} decisions recorded; {len(differ)} would differ with what is known now")
    for row in differ[:20]:
        render.audit_row(row, hl.policy.tz)
