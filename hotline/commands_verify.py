"""`hotline verify`: check the hash chains of the embedded log, or the producers' chains on every
partition of the facts topic (docs/audit.md)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from consumers.embedded import DEFAULT_LOG
from hotline import render, signed_heads
from hotline.errors import OperatorError, guard_kafka, guarded
from hotline.opening import open_log
from hotline.options import Json, LogOption, Namespace, Servers
from storage.chain import Verdict
from storage.kafka_links import PartitionLinks
from storage.log_chain import TABLES, Unchained

#: The exit status when a chain is broken: distinct from an operator mistake (2) or refused lines (3).
TAMPERED = 4


@guarded
def verify(
    log: LogOption = DEFAULT_LOG,
    from_kafka: Annotated[
        bool, typer.Option(help="Check the producers' chains on every partition of the facts topic.")
    ] = False,
    servers: Servers = None,
    namespace: Namespace = None,
    json: Json = False,
    sign: Annotated[
        Path | None,
        typer.Option(help="Ed25519 private key (PEM): when intact, sign the heads into --statement."),
    ] = None,
    statement: Annotated[
        Path | None, typer.Option(help="Where --sign writes the signed heads, or what --against reads.")
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            help="Ed25519 public key (PEM): check that the log still has the heads --statement signed."
        ),
    ] = None,
) -> None:
    """Check that no fact or admission decision was altered, removed or reordered since it was written.

    Prints, for the facts and for the decisions, the records checked, the end offset and the chain head
    (note the facts' head elsewhere: a later run that prints another head for the same end offset means
    the log was rewritten). With --from-kafka, per partition of the facts topic: the records checked,
    the chain of each producer that wrote there and its head, and the records that carry no link.
    Exit status: 0 every chain intact; 4 a chain is broken, one line names the table (or partition)
    and the first record that no longer fits; 2 an operator mistake; 1 an internal error.

    --sign KEY --statement FILE writes the heads signed with an Ed25519 key, an anchor kept outside
    the log; --against PUB --statement FILE checks, besides the chains, that the record at each
    signed end offset still has the signed head (4 when not: the log was rewritten up to there).
    With --from-kafka the same, for each producer chain on each partition of the facts topic.
    """
    if (sign or against) and (statement is None or (sign and against)):
        raise OperatorError("--sign or --against needs --statement FILE, and only one of them")
    if from_kafka:
        verify_kafka(servers, namespace, json, sign, against, statement)
        return
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
    # the two chains are independent: each broken one gets its line
    _tampered(
        [
            f"{table}: {render.safe(str(v.first_break))}"
            for table, v in verdicts.items()
            if v.first_break is not None
        ]
    )
    if sign is not None and statement is not None:
        signed_heads.sign_verdicts(verdicts, sign, statement)
    if against is not None and statement is not None:
        _tampered(signed_heads.check_log(hl.log.db, against, statement))


def _tampered(breaks: list[str]) -> None:
    """One line on stderr for each broken chain (already escaped), then exit TAMPERED if any."""
    for where in breaks:
        render.err_console.print(f"[bold red]tampered:[/] {where}")
    if breaks:
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


def read_links(
    servers: str | None, namespace: str | None, marks: dict[int, frozenset[tuple[str, int]]] | None = None
) -> tuple[str, list[PartitionLinks]]:
    """The facts topic's name, and every partition's producer chains checked from offset 0 (keeping
    the chain state at `marks`: partition -> (chain, offset) pairs)."""
    from consumers.kafka_fetch import fetch_every_partition
    from consumers.kafka_log import bootstrap, topic_name
    from schemas.topics import FACTS

    topic = topic_name(FACTS, namespace)
    links: dict[int, PartitionLinks] = {}

    def take(partition: int, records: list[Any]) -> None:
        found = links.get(partition) or links.setdefault(
            partition, PartitionLinks(partition, marks=(marks or {}).get(partition, frozenset()))
        )
        found.add((r.offset, r.value or b"", r.headers) for r in records)

    ends = fetch_every_partition(servers or bootstrap(), topic, take)
    return topic, [links.get(n) or PartitionLinks(n) for n in sorted(ends)]


def verify_kafka(
    servers: str | None,
    namespace: str | None,
    json: bool,
    sign: Path | None = None,
    against: Path | None = None,
    statement: Path | None = None,
) -> None:
    signed = (
        None if against is None or statement is None else signed_heads.topic_statement(against, statement)
    )
    marks = None if signed is None else signed_heads.marks(signed)
    started = time.perf_counter()
    topic, partitions = guard_kafka(lambda: read_links(servers, namespace, marks))
    took = time.perf_counter() - started
    records = sum(p.records for p in partitions)
    if json:
        out = {"source": "kafka", "topic": topic, "records": records, "seconds": took}
        out["partitions"] = [_links_json(p) for p in partitions]
        out["intact"] = not any(p.breaks for p in partitions)
        render.as_json(out)
    else:
        for p in partitions:
            checked = "checked" if not p.breaks else "read"
            chains = f"{len(p.chains)} chain{'' if len(p.chains) == 1 else 's'}"
            print(f"facts partition {p.partition}: {p.records} records {checked}, {chains}")
            for name, c in p.chains.items():
                print(f"  chain {name}: {c.records} records, head {c.head.hex()}")
        speed = f"{records / max(took, 1e-9):,.0f} records/s"
        render.console.print(f"verified {records} records of {topic} in {took:.2f}s ({speed})")
    for p in partitions:
        if p.unlinked:  # an older producer's, or written past the publishers: not provably tampering
            shown = ", ".join(map(str, p.unlinked_offsets)) + (", ..." if p.unlinked > 10 else "")
            render.err_console.print(
                f"warning: facts partition {p.partition}: {p.unlinked} records carry no link "
                f"(an older producer's, or written past the publishers): offsets {shown}"
            )
    # each partition's chains are independent: each broken one gets its line
    _tampered(
        [
            f"facts {render.safe(str(p.first_break))}{_more_breaks(p)}"
            for p in partitions
            if p.first_break is not None
        ]
    )
    if sign is not None and statement is not None:
        signed_heads.sign_chains(topic, partitions, sign, statement)
    if signed is not None:
        _tampered(signed_heads.check_chains(signed, partitions))


def _more_breaks(p: PartitionLinks) -> str:
    """How many more records of the broken partition do not fit, if any."""
    return f" ({len(p.breaks) - 1} more records there do not fit)" if len(p.breaks) > 1 else ""


def _links_json(p: PartitionLinks) -> dict[str, object]:
    at = p.first_break
    return {
        "partition": p.partition,
        "records": p.records,
        "unlinked": p.unlinked,
        "unlinked_offsets": p.unlinked_offsets,
        "chains": [
            {"chain": name, "records": c.records, "head": c.head.hex(), "last_offset": c.last_offset}
            for name, c in p.chains.items()
        ],
        "breaks": len(p.breaks),
        "break": None if at is None else {"offset": at.offset, "chain": at.chain, "detail": at.detail},
    }
