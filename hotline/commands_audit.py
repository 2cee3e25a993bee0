"""The auditor's commands: `audit` (each recorded decision beside today's answer) and `whatif` (what a
draft policy would have changed). Neither writes anything."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from consumers.embedded import DEFAULT_LOG
from domain.policy import PolicyError, load_policy
from hotline import render
from hotline.errors import OperatorError, guard_kafka, guarded
from hotline.opening import load, open_log, when
from hotline.options import Json, KeysOption, LogOption, Namespace, PolicyOption, Servers
from privacy.reveal import Revealer
from projections.audit import DraftRow, under_draft
from projections.fold import project
from projections.whatif import compare
from storage.keystore import KeyStore


@guarded
def audit(
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    json: Json = False,
    from_kafka: Annotated[
        bool, typer.Option(help="Read the admission-decisions and facts topics from offset 0 instead.")
    ] = False,
    upto_offset: Annotated[
        int | None,
        typer.Option(help="Not with --from-kafka: a topic has one offset per partition, not one offset."),
    ] = None,
    servers: Servers = None,
    namespace: Namespace = None,
    keys: KeysOption = None,
) -> None:
    """Recorded admission decisions beside the answer with everything known now (the record stays)."""
    undecodable: list[str] = []
    if from_kafka:
        if keys is not None:  # a sealed Kafka line: its numbers shown in clear (docs/privacy.md)
            render.reveal_with(Revealer(KeyStore(keys).reveal))
        if upto_offset is not None:
            raise OperatorError(
                "--upto-offset: a topic has one offset per partition; an audit from Kafka reads every "
                "partition to its end (use `hotline replay --from-kafka` for its manifest)"
            )
        from consumers.kafka_audit import audit_from_kafka

        history = load(policy)
        tz = history.latest.tz
        rows, undecodable = guard_kafka(lambda: audit_from_kafka(servers, namespace, history))
    else:
        if upto_offset is not None:
            raise OperatorError("--upto-offset: only with --from-kafka, where it is refused; omit it")
        hl = open_log(log, policy)
        tz = hl.policy.tz
        rows = hl.audit_decisions()
    differ = [r for r in rows if r.differs]
    if json:
        render.as_json({"decisions": len(rows), "would_differ": differ, "undecodable": undecodable})
        return
    render.console.print(f"{len(rows)} decisions recorded; {len(differ)} would differ with what is known now")
    for position in undecodable:
        render.console.print(f"[red]undecodable record[/] at partition:offset {position} (not audited)")
    for row in differ[:20]:
        render.audit_row(row, tz)
    if len(differ) > 20:
        render.console.print(f"... and {len(differ) - 20} more (--json lists them all)")


@guarded
def whatif(
    draft: Annotated[Path, typer.Option("--policy", help="The draft policy pack.")],
    start: Annotated[
        str | None,
        typer.Option("--from", help="When the draft takes effect (default: the draft's effective_from)."),
    ] = None,
    history: Annotated[
        list[Path] | None,
        typer.Option(
            "--history",
            envvar="HOTLINE_POLICY",
            help="The packs the log was judged by, as for --policy elsewhere (default: version 3.0).",
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Compare company blacklists at this time (default: now).")
    ] = None,
    log: LogOption = DEFAULT_LOG,
    json: Json = False,
) -> None:
    """Run the history under a draft policy: penalties added, removed or changed, companies blacklisted
    differently, recorded admission decisions that would differ. The record is not changed."""
    hl = open_log(log, history)
    try:
        pack = load_policy(draft)
        pack.tz  # noqa: B018 (a bad zone fails here, in one line)
    except PolicyError:
        raise
    except (OSError, ValueError, KeyError, msgspec.DecodeError) as e:
        raise OperatorError(f"--policy {draft}: cannot be used ({type(e).__name__}: {e})") from None
    tz = hl.policy.tz
    effective = when(start, tz, "--from")
    t = when(as_of, tz, "--as-of")
    started = time.perf_counter()
    # The recorded side comes from the log's checkpoints (equal to a fold under the recorded history);
    # only the draft needs a fold of its own.
    recorded = hl.state(t)
    trial = hl.history.including(pack, effective)
    drafted = project(hl.log.read(), trial, t)
    diff = compare(recorded, drafted, pack.version, effective, t)
    decisions = under_draft(recorded, drafted, hl.log.decisions(), hl.history.at, trial.at)
    took = time.perf_counter() - started
    if json:
        render.as_json({"differences": diff, "decisions": decisions, "seconds": round(took, 3)})
        return
    _print_whatif(diff.draft_version, effective or pack.effective_from, diff, decisions, tz, took)


def _print_whatif(
    version: str, effective: datetime | None, diff: Any, decisions: list[DraftRow], tz: Any, took: float
) -> None:
    out = render.console.print
    since = render.when(effective, tz) if effective else "the start of time"
    out(
        f"[bold]What-if: draft {render.safe(version)} in force from {since}[/] ({took:.2f}s; nothing written)"
    )
    out(
        f"penalties: {len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed; "
        f"companies blacklisted differently: {len(diff.companies)}; "
        f"recorded admissions that would differ: {len(decisions)}"
    )
    for label, changes in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed)):
        for change in changes[:10]:
            terms = change.draft or change.recorded
            until = render.when(terms.until, tz) if terms.until else "for ever"
            subject = f"{terms.subject_kind} {render.safe(terms.subject)} {render.safe(terms.rule)}"
            out(f"  {label}: {render.safe(change.penalty_id)} {subject} until {until}")
    for company in diff.companies[:10]:
        was, would = ("blacklisted" if b else "clear" for b in (company.recorded, company.draft))
        out(f"  company {render.safe(company.company_id)}: {was} → {would}")
    for row in decisions[:10]:
        now = "admitted" if row.draft_admitted else "refused"
        out(f"  decision {render.safe(row.decision.id)}: would be {now} under the draft")
