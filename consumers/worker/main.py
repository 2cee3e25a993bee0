"""Running one worker in the foreground: `main_worker(index, count, ...)` (what `hotline worker` calls)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import faust
from kafka.errors import KafkaError

from access.tokens import TokenStore, TokenStoreError
from consumers.kafka_log import TopicLayoutError, ensure_topics, topic_name
from consumers.metrics_http import MetricsServer
from domain.policy import PolicyError
from domain.policy_history import PolicyHistory, load_policies
from schemas.topics import FACTS

from .app import make_app
from .config import WorkerConfig
from .log_lines import configure, faust_logging, quiet_spinner
from .metrics import metrics_port
from .runtime import Runtime
from .tables import changelog_topics
from .tasks import install

log = logging.getLogger(__name__)


class WorkerError(RuntimeError):
    """A worker that cannot start, with a message for a person (the CLI prints it, no stack trace)."""


def main_worker(
    index: int,
    count: int,
    servers: str | None = None,
    namespace: str | None = None,
    datadir: Path | None = None,
    *,
    policy: PolicyHistory | None = None,
    policy_path: Path | None = None,
    loglevel: str = "warning",
    state_dir: Path | None = None,
) -> None:
    """Run worker `index` of `count` until SIGTERM or SIGINT (then it stops cleanly and returns).

    Unset arguments come from the environment (HOTLINE_KAFKA_BOOTSTRAP, HOTLINE_NAMESPACE,
    HOTLINE_STATE_DIR, HOTLINE_DIGEST_AS_OF, HOTLINE_WORKER_GUARANTEE); the data directory defaults to
    STATE/{namespace}-worker-{index}, STATE being `state_dir`, else $HOTLINE_STATE_DIR, else
    $XDG_STATE_HOME/hotline or ~/.local/state/hotline (config.py). `policy`: the history the CLI
    loaded (hotline.opening.load); `policy_path`: one pack, for `python -m consumers.worker`; neither:
    the shipped pack. Raises WorkerError when it cannot start."""
    if policy is None:
        try:
            policy = load_policies([policy_path] if policy_path is not None else [])
        except (OSError, PolicyError) as e:
            raise WorkerError(f"cannot load the policy: {e}") from None
    try:
        config = WorkerConfig.from_env(
            index,
            count,
            servers=servers,
            namespace=namespace,
            datadir=datadir,
            state_dir=state_dir,
            policy=policy,
        )
    except ValueError as e:
        raise WorkerError(str(e)) from None
    run(config, loglevel=loglevel)


def run(config: WorkerConfig, loglevel: str = "warning") -> Runtime:
    started = time.monotonic()
    try:
        configure(loglevel)  # plain text off a terminal, connection errors rate-limited (log_lines.py)
    except ValueError as e:
        raise WorkerError(str(e)) from None
    try:
        config.dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WorkerError(f"cannot create the worker's directory {config.dir}: {e}") from None
    log.info("worker %d keeps its state in %s", config.index, config.dir)
    try:
        policy = config.policy or load_policies([])
    except PolicyError as e:
        raise WorkerError(f"cannot load the policy: {e}") from None
    runtime = Runtime(config, policy, started)
    server = serve_metrics(runtime)
    facts = topic_name(FACTS, config.namespace)
    try:
        # with the changelogs of this worker's tables: faust must find them with their partitions
        ensure_topics(config.servers, config.namespace, changelogs=changelog_topics(config.app_id))
        # the live reader (tasks.py) goes on from where the drain ended, or from the store's offsets
        start = runtime.drain() if config.drain else dict(runtime.stored)
    except TopicLayoutError as e:
        raise WorkerError(str(e)) from None
    except KafkaError as e:
        raise WorkerError(f"cannot read {facts} from the brokers at {config.servers}: {e}") from None
    app = make_app(config)
    install(app, runtime, start)
    worker = faust.Worker(
        app, loglevel=loglevel, quiet=True, redirect_stdouts=False, logging_config=faust_logging(loglevel)
    )
    quiet_spinner(worker)
    try:
        worker.execute_from_commandline()
    except SystemExit as e:  # faust always leaves through SystemExit; 0 is a clean stop
        if e.code not in (0, None):
            raise WorkerError(f"worker {config.index} stopped with exit code {e.code}") from None
    finally:
        runtime.write_status(every=0)
        if server is not None:
            server.stop()
    return runtime


def serve_metrics(runtime: Runtime) -> MetricsServer | None:
    """/metrics on HOTLINE_METRICS_PORT + index, behind the token store (consumers.worker.metrics)."""
    try:
        where = metrics_port(runtime.config.index)
        if where is None:
            return None
        tokens = TokenStore.for_server()
    except (ValueError, TokenStoreError) as e:
        raise WorkerError(f"cannot serve /metrics: {e}") from None
    try:
        server = MetricsServer(runtime.metrics.registry, tokens, where.host, where.port).start()
    except OSError as e:
        raise WorkerError(f"cannot serve /metrics on {where.host}:{where.port}: {e}") from None
    runtime.metrics_port = server.port
    log.info("metrics on http://%s:%d/metrics", where.host, server.port)
    return server
