"""The commands on the embedded log: ingest, state, check, explain, replay; schema and demo."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import typer

from consumers.embedded import DEFAULT_LOG, DecisionNotRecorded
from hotline import render
from hotline.errors import REFUSED_LINES, OperatorError, fail, guard_kafka, guarded
from hotline.opening import load, open_log, when
from hotline.options import AsOf, Json, LogOption, Namespace, PolicyOption, ReplayUpto, Servers, StateUpto
from producers.event_time import EventTimeBounds
from producers.ingest import IngestStopped, ingest_files
from producers.rejects_file import RejectsFile
from producers.validate import explain_decode_error, key_problems
from projections.explain import explain as explain_subject
from schemas.derived import CallRequest


@guarded
def ingest(
    files: Annotated[list[Path], typer.Argument(help="JSON Lines files of facts.")],
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Where bad lines go (default: FILE.rejects.jsonl).")
    ] = None,
    seal: Annotated[
        bool,
        typer.Option(
            "--seal",
            help="Seal a new log: personal data stored as pseudonyms and ciphertext, keys in LOG.keys "
            "(docs/privacy.md).",
        ),
    ] = False,
) -> None:
    """Append facts to the log (creating it); bad lines are reported and written to a rejects file.

    Each bad line is reported with its line, field and reason, and the rejects file is replaced on
    each run. Exit status: 0 every line landed; 3 some lines were refused (the others landed); 2 an
    operator mistake (one line says which); 1 an internal error."""
    EventTimeBounds.from_env()  # a bad HOTLINE_MAX_SKEW / HOTLINE_EPOCH stops the run before it starts
    for path in files:
        if not path.is_file():
            raise OperatorError(f"{path}: no such file")
    hl = open_log(log, policy, create=True, seal=seal)
    from rich.progress import Progress

    target = rejects or files[0].with_name(files[0].name + ".rejects.jsonl")
    # Refusals stream to the rejects file as they are found: a big file's are never all in memory.
    rejected = RejectsFile(target, [str(path) for path in files])
    stopped: IngestStopped | None = None
    with rejected, Progress(console=render.console, transient=True) as bar:
        task = bar.add_task("ingesting", total=sum(p.stat().st_size for p in files))
        try:
            sealing = None if hl.keys is None else hl.keys.seal_all
            report = ingest_files(
                hl.log, files, lambda n: bar.advance(task, n), seal=sealing, refused=rejected.add
            )
        except IngestStopped as e:  # what was committed stays; its rejects are still written
            stopped, report = e, e.report
    render.rejections(rejected.first(), total=rejected.count)
    if rejected.count:
        render.console.print(f"rejects written to {render.safe(target)}")
    if stopped is not None:
        fail(str(stopped))
    render.console.print(
        f"{report.appended} facts appended, {report.duplicates} already on the log, "
        f"{rejected.count} rejected; log {render.safe(hl.log.path)} now ends at offset "
        f"{hl.log.end_offset()}"
    )
    if rejected.count:
        raise typer.Exit(REFUSED_LINES)


@guarded
def state(
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    as_of: AsOf = None,
    json: Json = False,
    upto_offset: StateUpto = None,
) -> None:
    """The projections at an as-of time (default: now): blacklist, counters, tallies, plans, cases..."""
    hl = open_log(log, policy)
    t = when(as_of, hl.policy.tz, "--as-of") or datetime.now(hl.policy.tz)
    snap = hl.snapshot(t, upto_offset)
    render.as_json(snap) if json else render.state(snap, hl.policy.tz)


#: The `check` option that gives each field of the request.
_OPTION = {
    "account_id": "--account",
    "number": "--number",
    "barcode": "--barcode",
    "stated_model": "--model",
    "stated_site": "--site",
    "at": "--at",
}


@guarded
def check(
    account: Annotated[str, typer.Option(help="Engineer account.")],
    number: Annotated[str, typer.Option(help="Caller's phone number.")],
    barcode: Annotated[str, typer.Option(help="Device barcode or authorisation code.")],
    model: Annotated[str, typer.Option(help="Product model the caller states.")],
    site: Annotated[str, typer.Option(help="Customer site the caller states.")],
    at: Annotated[str | None, typer.Option(help="When the call comes in (default: now).")] = None,
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    json: Json = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Answer without recording the answer on the log.")
    ] = False,
) -> None:
    """May this call through? Every reason, in a stable order; the answer is recorded on the log, and a
    barcode-mismatch refusal also as an `admission.refused` fact, which raises the BARCODE-MISMATCH
    suspicion (with --dry-run nothing is: a what-if for a person, never what the line did)."""
    hl = open_log(log, policy)
    fields: dict[str, object] = {"account_id": account, "number": number, "barcode": barcode}
    fields |= {"stated_model": model, "stated_site": site, "at": when(at, hl.policy.tz, "--at")}
    try:
        request = msgspec.convert(fields, CallRequest)
    except msgspec.ValidationError as e:
        field, reason = explain_decode_error(e)
        raise OperatorError(f"{_OPTION.get(field or '', field or 'the request')}: {reason}") from None
    if problems := key_problems(request):
        field, reason = problems[0]
        raise OperatorError(f"{_OPTION.get(field, field)}: {reason}")
    try:
        decision = hl.check(request, record=not dry_run)
    except DecisionNotRecorded as e:  # an answer off the record is no answer: one line, exit 2
        fail(str(e))
    if json:  # a dry run says so in the answer itself, so a script cannot take it for a record
        render.as_json(msgspec.to_builtins(decision) | {"recorded": False} if dry_run else decision)
    else:
        render.decision(decision, hl.policy.tz, recorded=not dry_run)


@guarded
def explain(
    kind: Annotated[Literal["account", "number", "company"], typer.Argument(help="account|number|company")],
    subject: Annotated[str, typer.Argument(help="Its id or number.")],
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    as_of: AsOf = None,
    json: Json = False,
) -> None:
    """The chain from facts to violations to penalties for one subject, with the policy version."""
    hl = open_log(log, policy)
    t = when(as_of, hl.policy.tz, "--as-of")
    subject = hl.number_subject(subject) if kind == "number" else subject
    result = explain_subject(hl.state(t), kind, subject, t)
    render.as_json(result) if json else render.explanation(result, hl.policy.tz)


@guarded
def replay(
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    as_of: AsOf = None,
    upto_offset: ReplayUpto = None,
    from_kafka: Annotated[bool, typer.Option(help="Read the facts topic from offset 0 instead.")] = False,
    servers: Servers = None,
    namespace: Namespace = None,
    json: Json = False,
) -> None:
    """Rebuild every projection from the log (or Kafka) and print a digest, to compare two runs.

    Beside the digest, a manifest of what was read, so two auditors can tell that they read the same
    records: for the log, the record count, end offset and chain head (`hotline verify` checks that
    head against the bodies); from Kafka, per partition the end offset, record count and the head the
    reader computed over the records (docs/audit.md)."""
    if from_kafka:
        from consumers.kafka_replay import replay_with_manifest, skipped_line

        history = load(policy)
        t = when(as_of, history.latest.tz, "--as-of")
        digest, n, took, manifest = guard_kafka(lambda: replay_with_manifest(servers, namespace, t, history))
        parts = [
            {"partition": p.partition, "end_offset": p.end_offset, "records": p.records, "head": p.head}
            for p in manifest.partitions
        ]
        shown: dict[str, object] = {"source": "kafka", "records": manifest.records, "partitions": parts}
        shown["fingerprint"] = manifest.fingerprint
        shown["skipped"] = [{"partition": s.partition, "offset": s.offset} for s in manifest.skipped]
        if json:
            render.as_json({"digest": digest, "manifest": shown, "facts": n, "seconds": took})
            return
        render.console.print(
            f"replayed {n} facts from Kafka in {took:.2f}s ({n / max(took, 1e-9):,.0f} facts/s)"
        )
        print(f"digest {digest}")
        for p in manifest.partitions:  # end offset: the next one to be written, as Kafka counts
            print(f"manifest {p}")
        print(f"manifest {manifest.records} records, fingerprint {manifest.fingerprint}")
        if line := skipped_line(manifest.skipped):  # records that are not facts: read, chained, not folded
            print(line)
        return
    from storage.log_chain import head_upto

    hl = open_log(log, policy)
    t = when(as_of, hl.policy.tz, "--as-of")
    started = time.perf_counter()
    records, end, head = head_upto(hl.log.db, upto_offset)
    digest, snap = hl.replay_digest(t, upto_offset)
    took = time.perf_counter() - started
    if upto_offset is None and (now := hl.log.end_offset()) != end:  # a writer appended meanwhile
        render.err_console.print(
            f"warning: the log grew from offset {end} to {now} during the replay; for a manifest that "
            f"matches the digest exactly, replay with --upto-offset {now}"
        )
    if json:
        shown = {"source": "log", "records": records, "end_offset": end, "head": head.hex()}
        render.as_json({"digest": digest, "manifest": shown, "facts": records, "seconds": took})
        return
    render.console.print(
        f"replayed {records} facts in {took:.2f}s ({records / max(took, 1e-9):,.0f} facts/s), as of "
        f"{t.isoformat() if t else 'the end of the log'}"
    )
    print(f"digest {digest}")
    print(f"manifest log: {records} records to offset {end}, head {head.hex()}")


@guarded
def schema(
    out: Annotated[Path, typer.Option(help="Directory for the JSON Schema files.")] = Path("schemas/json"),
) -> None:
    """Export the JSON Schema of the facts, the derived events and the admission request."""
    from schemas.jsonschema import export

    for path in export(out):
        render.console.print(f"wrote {render.safe(path)}")


@guarded
def demo(
    log: Annotated[Path, typer.Option("--log", help="A fresh log for the demo.")] = Path("hotline-demo.db"),
    seed: int = 7,
    companies: int = 300,
    engineers: int = 3000,
    months: int = 4,
) -> None:
    """Generate a realistic synthetic stream, ingest it, and show what the rules made of it."""
    from hotline.demo import run_demo

    if log.is_dir():
        raise OperatorError(f"--log {log}: is a directory, not a log file")
    run_demo(log, seed, companies, engineers, months)
