"""`hotline`: ingest facts, ask the line's questions, explain, replay, and a demo. Embedded log by default."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec
import typer

from consumers.embedded import DEFAULT_LOG, Hotline
from domain.policy import PolicyError, load_policy
from domain.timeparse import TimeError, parse_time
from hotline import render
from producers.ingest import ingest_files, write_rejects
from projections.explain import explain as explain_subject
from schemas.derived import CallRequest

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Governance of the partner support line: rules, blacklist, admission, audit.",
)
LogOption = Annotated[Path, typer.Option("--log", envvar="HOTLINE_LOG", help="The embedded log file.")]
PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", envvar="HOTLINE_POLICY", help="A policy pack (default: version 3.0)."),
]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Event time, e.g. 2025-03-01 or 2025-03-01T09:30+08:00.")
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
T = TypeVar("T")


def _fail(message: str) -> None:
    render.console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def _guard(fn: Callable[[], T]) -> T:
    """Known failures become one clear line and exit code 2, never a stack trace."""
    try:
        return fn()
    except (TimeError, PolicyError, msgspec.ValidationError, FileNotFoundError, IsADirectoryError) as e:
        _fail(str(e))
    raise AssertionError("unreachable")


def _open(log: Path, policy: Path | None) -> Hotline:
    return _guard(lambda: Hotline.open(log, policy))


def _time(hl: Hotline, text: str | None, option: str) -> datetime | None:
    return None if text is None else _guard(lambda: parse_time(text, hl.policy.tz, option))


def _print_json(obj: Any) -> None:
    sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(obj), indent=2) + b"\n")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="JSON Lines files of facts.")],
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Where bad lines go (default: FILE.rejects.jsonl).")
    ] = None,
) -> None:
    """Append facts to the log. Bad lines are reported (line, field, reason) and written to a rejects file."""
    hl = _open(log, policy)
    for path in files:
        if not path.is_file():
            _fail(f"{path}: no such file")
    from rich.progress import Progress

    with Progress(console=render.console, transient=True) as bar:
        task = bar.add_task("ingesting", total=sum(p.stat().st_size for p in files))
        report = _guard(lambda: ingest_files(hl.log, files, lambda n: bar.advance(task, n)))
    for r in report.rejected[:20]:
        render.console.print(f"[yellow]rejected[/] {r.file}:{r.line} field {r.field or '-'}: {r.reason}")
    if len(report.rejected) > 20:
        render.console.print(f"... and {len(report.rejected) - 20} more")
    if report.rejected:
        target = rejects or files[0].with_name(files[0].name + ".rejects.jsonl")
        write_rejects(target, report.rejected)
        render.console.print(f"rejects written to {target}")
    render.console.print(
        f"{report.appended} facts appended, {report.duplicates} already on the log, "
        f"{len(report.rejected)} rejected; log {hl.log.path} now ends at offset "
        f"{hl.log.end_offset()}"
    )


@app.command()
def state(
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    as_of: AsOf = None,
    json: Json = False,
    upto_offset: Annotated[int | None, typer.Option(help="Only what the log held up to this offset.")] = None,
) -> None:
    """The projections at an as-of time (default: now): blacklist, counters, tallies, plans, cases..."""
    hl = _open(log, policy)
    t = _time(hl, as_of, "--as-of") or datetime.now(hl.policy.tz)
    snap = hl.snapshot(t, upto_offset)
    _print_json(snap) if json else render.state(snap, hl.policy.tz)


@app.command()
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
) -> None:
    """May this call through? Every reason, in a stable order; the answer is recorded on the log."""
    hl = _open(log, policy)
    request = _guard(
        lambda: msgspec.convert(
            {
                "account_id": account,
                "number": number,
                "barcode": barcode,
                "stated_model": model,
                "stated_site": site,
                "at": _time(hl, at, "--at"),
            },
            CallRequest,
        )
    )
    decision = hl.check(request)
    _print_json(decision) if json else render.decision(decision, hl.policy.tz)


@app.command()
def explain(
    kind: Annotated[Literal["account", "number", "company"], typer.Argument(help="account|number|company")],
    subject: Annotated[str, typer.Argument(help="Its id or number.")],
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    as_of: AsOf = None,
    json: Json = False,
) -> None:
    """The chain from facts to violations to penalties for one subject, with the policy version."""
    hl = _open(log, policy)
    t = _time(hl, as_of, "--as-of")
    result = explain_subject(hl.state(t), kind, subject, t)
    _print_json(result) if json else render.explanation(result, hl.policy.tz)


@app.command()
def replay(
    log: LogOption = DEFAULT_LOG,
    policy: PolicyOption = None,
    as_of: AsOf = None,
    upto_offset: Annotated[int | None, typer.Option(help="Replay only up to this log offset.")] = None,
    from_kafka: Annotated[bool, typer.Option(help="Read the facts topic from offset 0 instead.")] = False,
    servers: Servers = None,
    namespace: Namespace = None,
) -> None:
    """Rebuild every projection from the log (or Kafka) and print a digest, to compare two runs."""
    import time

    if from_kafka:
        from consumers.kafka_replay import replay_from_kafka

        pol = _guard(lambda: load_policy(policy))
        t = None if as_of is None else _guard(lambda: parse_time(as_of, pol.tz, "--as-of"))
        digest, n, took = _guard_kafka(lambda: replay_from_kafka(servers, namespace, t, pol))
        render.console.print(
            f"replayed {n} facts from Kafka in {took:.2f}s ({n / max(took, 1e-9):,.0f} facts/s)"
        )
        print(f"digest {digest}")
        return
    hl = _open(log, policy)
    t = _time(hl, as_of, "--as-of")
    started = time.perf_counter()
    digest, snap = hl.replay_digest(t, upto_offset)
    took = time.perf_counter() - started
    n = hl.log.count()
    render.console.print(
        f"replayed {n} facts in {took:.2f}s ({n / took:,.0f} facts/s), as of "
        f"{t.isoformat() if t else 'the end of the log'}"
    )
    print(f"digest {digest}")


@app.command()
def audit(log: LogOption = DEFAULT_LOG, policy: PolicyOption = None, json: Json = False) -> None:
    """Recorded admission decisions that would differ with everything known now (the record stays)."""
    hl = _open(log, policy)
    rows = hl.audit_decisions()
    differ = [d for d, changed in rows if changed]
    if json:
        _print_json({"decisions": len(rows), "would_differ": [d.id for d in differ]})
        return
    render.console.print(f"{len(rows)} decisions recorded; {len(differ)} would differ with what is known now")
    for d in differ[:20]:
        render.decision(d, hl.policy.tz)


@app.command()
def schema(
    out: Annotated[Path, typer.Option(help="Directory for the JSON Schema files.")] = Path("schemas/json"),
) -> None:
    """Export the JSON Schema of the facts, the derived events and the admission request."""
    from schemas.jsonschema import export

    for path in export(out):
        render.console.print(f"wrote {path}")


@app.command()
def demo(
    log: Annotated[Path, typer.Option("--log", help="A fresh log for the demo.")] = Path("hotline-demo.db"),
    seed: int = 7,
    companies: int = 300,
    engineers: int = 3000,
    months: int = 4,
) -> None:
    """Generate a realistic synthetic stream, ingest it, and show what the rules made of it."""
    from hotline.demo import run_demo

    run_demo(log, seed, companies, engineers, months)


Namespace = Annotated[
    str | None, typer.Option(envvar="HOTLINE_NAMESPACE", help="Topic name prefix (hotline).")
]
Servers = Annotated[str | None, typer.Option(envvar="HOTLINE_KAFKA_BOOTSTRAP", help="host:port[,host:port].")]


@app.command()
def topics(servers: Servers = None, namespace: Namespace = None) -> None:
    """Create the Kafka topics that do not exist yet ($HOTLINE_PARTITIONS partitions, default 4; facts
    kept for ever)."""
    from consumers.kafka_log import ensure_topics

    created = _guard_kafka(lambda: ensure_topics(servers, namespace))
    render.console.print(
        f"created {len(created)} topics: {', '.join(created)}" if created else "all topics exist"
    )


def _guard_kafka(fn: Callable[[], T]) -> T:
    """A broker that does not answer is one clear line, not a stack trace."""
    from kafka.errors import KafkaError

    try:
        return fn()
    except (KafkaError, RuntimeError) as e:
        _fail(f"Kafka at {_bootstrap()}: {e} (try `hotline broker start`, or set HOTLINE_KAFKA_BOOTSTRAP)")
    raise AssertionError("unreachable")


def _bootstrap() -> str:
    from consumers.kafka_log import bootstrap

    return bootstrap()


@app.command()
def produce(
    files: Annotated[list[Path], typer.Argument(help="JSON Lines or CSV files of facts.")],
    source: Annotated[str, typer.Option(help="Which producer this is: crm, callcentre or any.")] = "any",
    servers: Servers = None,
    namespace: Namespace = None,
) -> None:
    """Validate facts and publish them to Kafka, keyed by subject; bad lines go to the rejects topic."""
    from producers.kafka_producer import PublishError, main_produce

    for path in files:
        if not path.is_file():
            _fail(f"{path}: no such file")
    try:
        report = _guard_kafka(lambda: main_produce(files, source, servers, namespace))
    except PublishError as e:
        _fail(str(e))
    for r in report.rejected[:20]:
        render.console.print(f"[yellow]rejected[/] {r.file}:{r.line} field {r.field or '-'}: {r.reason}")
    if len(report.rejected) > 20:
        render.console.print(f"... and {len(report.rejected) - 20} more (all on the rejects topic)")
    render.console.print(report.summary())


@app.command()
def worker(
    index: Annotated[int, typer.Option(help="This worker's number, from 0.")] = 0,
    of: Annotated[int, typer.Option("--of", help="How many workers share the output.")] = 1,
    servers: Servers = None,
    namespace: Namespace = None,
    datadir: Annotated[Path | None, typer.Option(help="RocksDB and status files of this worker.")] = None,
    policy: PolicyOption = None,
) -> None:
    """Run a faust stream processor: the whole projection, publishing the keys this worker owns."""
    from consumers.worker import WorkerError, main_worker

    if not 0 <= index < of:
        _fail(f"--index must be between 0 and {of - 1} for --of {of}")
    try:
        main_worker(index, of, servers, namespace, datadir, policy_path=policy)
    except WorkerError as e:
        _fail(str(e))


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    servers: Servers = None,
    namespace: Namespace = None,
    policy: PolicyOption = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="keep facts and checkpoints here: a restart resumes instead of reading from 0"),
    ] = None,
) -> None:
    """The query API for dashboards and call routing (admission, blacklist, counters, explain)."""
    from consumers.api import main_serve

    _guard_kafka(lambda: main_serve(host, port, servers, namespace, policy_path=policy, state_dir=state_dir))


@app.command("ingest-server")
def ingest_server(
    host: str = "127.0.0.1",
    port: int = 8081,
    servers: Servers = None,
    namespace: Namespace = None,
) -> None:
    """HTTP ingest: POST /facts with JSON Lines; validated, published, bad lines to the rejects topic."""
    from producers.http_ingest import main_ingest_server

    _guard_kafka(lambda: main_ingest_server(host, port, servers, namespace))


broker = typer.Typer(help="A local Apache Kafka broker (KRaft, 127.0.0.1) from Maven Central jars.")
app.add_typer(broker, name="broker")
BROKER_SCRIPT = Path(__file__).parents[1] / "deploy" / "kafka" / "broker.sh"


def _broker(command: str) -> None:
    import subprocess

    if not BROKER_SCRIPT.is_file():
        _fail(f"{BROKER_SCRIPT} not found: run from a checkout of the repository")
    raise typer.Exit(subprocess.run(["bash", str(BROKER_SCRIPT), command], check=False).returncode)


@broker.command("start")
def broker_start() -> None:
    """Fetch the jars once, format storage once, start, and wait until the broker answers."""
    _broker("start")


@broker.command("stop")
def broker_stop() -> None:
    """Stop the broker cleanly."""
    _broker("stop")


@broker.command("status")
def broker_status() -> None:
    """Exit 0 when the broker runs, 1 when it does not."""
    _broker("status")


def main() -> None:
    app()
