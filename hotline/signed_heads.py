"""`hotline verify --sign` and `--against`: the log's chain heads signed, and checked against the log
later (storage.signed_head; docs/audit.md, "A signed head")."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hotline import render
from hotline.errors import OperatorError
from storage.chain import Verdict
from storage.kafka_links import PartitionLinks
from storage.log_chain import link_at
from storage.signed_head import ChainHead, HeadStatement, StatementError, TableHead, check, read, sign, write


def sign_verdicts(verdicts: dict[str, Verdict], key: Path, statement: Path) -> None:
    """Sign the heads of intact chains (the caller has stopped on a broken one) into `statement`."""
    heads = {table: TableHead(v.records, v.end_offset, v.head.hex()) for table, v in verdicts.items()}
    _sign(statement, lambda now: sign(heads, key, now))


def sign_chains(topic: str, partitions: list[PartitionLinks], key: Path, statement: Path) -> None:
    """Sign every producer chain of an intact facts topic into `statement`."""
    chains = [
        ChainHead(p.partition, name, c.records, c.last_offset, c.head.hex())
        for p in partitions
        for name, c in sorted(p.chains.items())
    ]
    _sign(statement, lambda now: sign({}, key, now, topic, chains))


def _sign(statement: Path, signing: Callable[[datetime], HeadStatement]) -> None:
    try:
        signed = signing(datetime.now(UTC))
        write(signed, statement)
    except StatementError as e:
        raise OperatorError(str(e)) from None
    except OSError as e:
        raise OperatorError(f"{statement}: cannot write it ({e.strerror})") from None
    render.console.print(f"heads signed by key {signed.key[:16]}… into {render.safe(str(statement))}")


def checked(public_key: Path, statement: Path) -> HeadStatement:
    """The statement, its signature checked; OperatorError (one line) otherwise."""
    try:
        signed = read(statement)
        check(signed, public_key, statement)
    except StatementError as e:
        raise OperatorError(str(e)) from None
    return signed


def check_chains(signed: HeadStatement, partitions: list[PartitionLinks]) -> list[str]:
    """As `check_log`, for the chains of a facts topic read with the statement's marks
    (`marks`): a line for each chain that no longer has its signed head there."""
    when = signed.signed_at.isoformat(timespec="seconds")
    read_ = {p.partition: p for p in partitions}
    broken = []
    for c in signed.chains:
        got = read_[c.partition].marked.get((c.chain, c.last_offset)) if c.partition in read_ else None
        at = f"partition {c.partition} offset {c.last_offset}, chain {render.safe(c.chain)}"
        if got == (c.records, bytes.fromhex(c.head)):
            render.console.print(
                f"facts {at}: the head signed {when} is still the topic's ({c.records} records)"
            )
        elif got is None:
            broken.append(f"facts {at}: no record of that chain there any more; its head was signed {when}")
        else:
            broken.append(
                f"facts {at}: head {got[1].hex()[:16]}… after {got[0]} records, not the head "
                f"{c.head[:16]}… after {c.records} records signed {when}: the partition was rewritten"
            )
    return broken


def topic_statement(public_key: Path, statement: Path) -> HeadStatement:
    """The statement of a topic's chains, its signature checked, before the topic is read."""
    signed = checked(public_key, statement)
    if signed.heads and not signed.chains:
        raise OperatorError(f"{statement}: signs an embedded log's heads, not a topic's")
    return signed


def marks(signed: HeadStatement) -> dict[int, frozenset[tuple[str, int]]]:
    """partition -> the (chain, offset) pairs whose state to keep while reading the topic."""
    out: dict[int, set[tuple[str, int]]] = {}
    for c in signed.chains:
        out.setdefault(c.partition, set()).add((c.chain, c.last_offset))
    return {p: frozenset(m) for p, m in out.items()}


def check_log(db: sqlite3.Connection, public_key: Path, statement: Path) -> list[str]:
    """A line for each table whose signed head the log no longer has (already escaped); prints one
    line for each that it still has."""
    signed = checked(public_key, statement)
    if signed.chains and not signed.heads:
        raise OperatorError(f"{statement}: signs a topic's chains, not an embedded log's heads")
    when = signed.signed_at.isoformat(timespec="seconds")
    broken = []
    for table, head in sorted(signed.heads.items()):
        if table not in ("facts", "decisions"):
            raise OperatorError(f"{statement}: names a table {table!r} the log does not have")
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
