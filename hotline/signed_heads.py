"""`hotline verify --sign` and `--against`: the log's chain heads signed, and checked against the log
later (storage.signed_head; docs/audit.md, "A signed head")."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hotline import render
from hotline.errors import OperatorError
from storage.chain import Verdict
from storage.log_chain import link_at
from storage.signed_head import StatementError, TableHead, check, read, sign, write


def sign_verdicts(verdicts: dict[str, Verdict], key: Path, statement: Path) -> None:
    """Sign the heads of intact chains (the caller has stopped on a broken one) into `statement`."""
    heads = {table: TableHead(v.records, v.end_offset, v.head.hex()) for table, v in verdicts.items()}
    try:
        signed = sign(heads, key, datetime.now(UTC))
        write(signed, statement)
    except StatementError as e:
        raise OperatorError(str(e)) from None
    except OSError as e:
        raise OperatorError(f"{statement}: cannot write it ({e.strerror})") from None
    render.console.print(f"heads signed by key {signed.key[:16]}… into {render.safe(str(statement))}")


def check_log(db: sqlite3.Connection, public_key: Path, statement: Path) -> list[str]:
    """A line for each table whose signed head the log no longer has (already escaped); prints one
    line for each that it still has."""
    try:
        signed = read(statement)
        check(signed, public_key, statement)
    except StatementError as e:
        raise OperatorError(str(e)) from None
    when = signed.signed_at.isoformat(timespec="seconds")
    broken = []
    for table, head in sorted(signed.heads.items()):
        if table not in ("facts", "decisions"):
            raise OperatorError(f"{statement}: names a table {render.safe(table)!r} the log does not have")
        records, link = link_at(db, table, head.end_offset)
        if link is not None and link.hex() == head.head and records == head.records:
            render.console.print(
                f"{table}: the head signed {when} at offset {head.end_offset} is still the log's "
                f"({records} records up to it)"
            )
        elif link is None:
            broken.append(
                f"{table}: the log has no record at offset {head.end_offset}, whose head was signed "
                f"{when}: records up to it were removed"
            )
        else:
            broken.append(
                f"{table}: the record at offset {head.end_offset} has head {link.hex()[:16]}… and "
                f"{records} records up to it, not the head {head.head[:16]}… and {head.records} records "
                f"signed {when}: the log was rewritten at or before it"
            )
    return broken
