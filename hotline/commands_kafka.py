"""The commands on Kafka: topics, produce, worker, serve, ingest-server."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from hotline import render
from hotline.errors import REFUSED_LINES, OperatorError, fail, guard_kafka, guarded
from hotline.opening import load
from hotline.options import KeysOption, Namespace, PolicyOption, Servers
from producers.event_time import EventTimeBounds
from storage.keystore import KeyStore


@guarded
def topics(servers: Servers = None, namespace: Namespace = None) -> None:
    """Create the Kafka topics that do not exist yet ($HOTLINE_PARTITIONS partitions, default 4; facts
    kept for ever)."""
    from consumers.kafka_log import ensure_topics

    created = guard_kafka(lambda: ensure_topics(servers, namespace))
    render.console.print(
        f"created {len(created)} topics: {render.safe(', '.join(created))}" if created else "all topics exist"
    )


@guarded
def produce(
    files: Annotated[list[Path], typer.Argument(help="JSON Lines or CSV files of facts.")],
    source: Annotated[str, typer.Option(help="Which producer this is: crm, callcentre or any.")] = "any",
    servers: Servers = None,
    namespace: Namespace = None,
    keys: KeysOption = None,
) -> None:
    """Validate facts and publish them to Kafka, keyed by subject; bad lines go to the rejects topic.

    Exit status as for `ingest`: 0 every line published; 3 some lines were refused (the others were
    published); 2 an operator mistake; 1 an internal error."""
    from producers.kafka_producer import PublishError, main_produce

    EventTimeBounds.from_env()  # a bad HOTLINE_MAX_SKEW / HOTLINE_EPOCH stops the run before it starts
    for path in files:
        if not path.is_file():
            raise OperatorError(f"{path}: no such file")
    from rich.progress import Progress

    try:
        store = None if keys is None else KeyStore(keys)
        with Progress(console=render.console, transient=True) as bar:
            task = bar.add_task("publishing", total=sum(p.stat().st_size for p in files))
            advance = partial(bar.advance, task)
            report = guard_kafka(lambda: main_produce(files, source, servers, namespace, store, advance))
    except PublishError as e:
        fail(str(e))
    shown = len(report.rejected) + report.more_rejections
    render.rejections(report.rejected, where=" (all on the rejects topic)", total=shown)
    render.console.print(render.safe(report.summary()))
    if report.rejected:
        raise typer.Exit(REFUSED_LINES)


@guarded
def worker(
    index: Annotated[int, typer.Option(help="This worker's number, from 0.")] = 0,
    of: Annotated[int, typer.Option("--of", help="How many workers share the output.")] = 1,
    servers: Servers = None,
    namespace: Namespace = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where workers keep their directories, DIR/NS-worker-I "
            "[default: $HOTLINE_STATE_DIR, else $XDG_STATE_HOME/hotline or ~/.local/state/hotline]."
        ),
    ] = None,
    datadir: Annotated[
        Path | None, typer.Option(help="This worker's own directory (overrides --state-dir).")
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Run a faust stream processor: the whole projection, publishing the keys this worker owns."""
    from consumers.worker import WorkerError, main_worker

    if not 0 <= index < of:
        raise OperatorError(f"--index must be between 0 and {of - 1} for --of {of}")
    history = load(policy)  # one pack, several, or a directory: each fact under the version of its time
    try:
        main_worker(index, of, servers, namespace, datadir, policy=history, state_dir=state_dir)
    except WorkerError as e:
        fail(str(e))


@guarded
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
    log: Annotated[
        Path | None,
        typer.Option(
            "--log",
            help="serve the embedded log FILE instead of the facts topic: no broker at all "
            "(decisions are recorded on the log; the dashboard is at /, docs/dashboard.md)",
        ),
    ] = None,
    keys: KeysOption = None,
) -> None:
    """The query API and dashboard (admission, blacklist, counters, explain), on Kafka or on --log FILE."""
    if log is not None:
        from access.tokens import TokenStoreError
        from consumers.api.embedded_source import main_serve_embedded
        from hotline.opening import open_log

        if state_dir is not None:  # (--servers/--namespace may come from the environment: ignored)
            raise OperatorError("--state-dir is for a replica of Kafka: --log serves the log itself")
        hotline = open_log(log, policy)  # refuses a missing log, a directory, a bad pack, in one line
        hotline.log.close()
        try:
            main_serve_embedded(host, port, log, hotline.history)
        except TokenStoreError as e:  # no token: the operator's to fix, like a missing log
            raise OperatorError(str(e)) from None
        return
    from consumers.api import main_serve

    history = load(policy)
    if keys is not None and not keys.is_file():  # before the replica spends a minute catching up
        raise OperatorError(f"--keys {keys}: no key store (hotline keys create)")
    guard_kafka(
        lambda: main_serve(host, port, servers, namespace, policy=history, state_dir=state_dir, keys=keys)
    )


@guarded
def ingest_server(
    host: str = "127.0.0.1",
    port: int = 8081,
    servers: Servers = None,
    namespace: Namespace = None,
    keys: KeysOption = None,
) -> None:
    """HTTP ingest: POST /facts with JSON Lines; validated, published, bad lines to the rejects topic."""
    from producers.http_ingest import main_ingest_server
    from producers.kafka_producer import PublishError

    EventTimeBounds.from_env()
    try:
        store = None if keys is None else KeyStore(keys, threads=True)
        guard_kafka(lambda: main_ingest_server(host, port, servers, namespace, keys=store))
    except PublishError as e:  # no broker at start: its message says where and what to do
        fail(str(e))
