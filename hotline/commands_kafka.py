"""The commands on Kafka: topics, produce, worker, serve, ingest-server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hotline import render
from hotline.errors import OperatorError, fail, guard_kafka, guarded
from hotline.opening import one_pack
from hotline.options import Namespace, PolicyOption, Servers
from producers.event_time import EventTimeBounds


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
) -> None:
    """Validate facts and publish them to Kafka, keyed by subject; bad lines go to the rejects topic."""
    from producers.kafka_producer import PublishError, main_produce

    EventTimeBounds.from_env()  # a bad HOTLINE_MAX_SKEW / HOTLINE_EPOCH stops the run before it starts
    for path in files:
        if not path.is_file():
            raise OperatorError(f"{path}: no such file")
    try:
        report = guard_kafka(lambda: main_produce(files, source, servers, namespace))
    except PublishError as e:
        fail(str(e))
    render.rejections(report.rejected, where=" (all on the rejects topic)")
    render.console.print(render.safe(report.summary()))


@guarded
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
        raise OperatorError(f"--index must be between 0 and {of - 1} for --of {of}")
    pack = one_pack(policy)
    try:
        main_worker(index, of, servers, namespace, datadir, policy_path=pack)
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
) -> None:
    """The query API for dashboards and call routing (admission, blacklist, counters, explain)."""
    from consumers.api import main_serve

    pack = one_pack(policy)
    guard_kafka(lambda: main_serve(host, port, servers, namespace, policy_path=pack, state_dir=state_dir))


@guarded
def ingest_server(
    host: str = "127.0.0.1",
    port: int = 8081,
    servers: Servers = None,
    namespace: Namespace = None,
) -> None:
    """HTTP ingest: POST /facts with JSON Lines; validated, published, bad lines to the rejects topic."""
    from producers.http_ingest import main_ingest_server
    from producers.kafka_producer import PublishError

    EventTimeBounds.from_env()
    try:
        guard_kafka(lambda: main_ingest_server(host, port, servers, namespace))
    except PublishError as e:  # no broker at start: its message says where and what to do
        fail(str(e))
