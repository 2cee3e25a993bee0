"""`hotline broker`: a local Apache Kafka broker (KRaft, 127.0.0.1) from Maven Central jars, and what
is on a broker: its topics, its consumer groups and their lag.

start, stop, restart and status run deploy/kafka/broker.sh, which listens on the port of
HOTLINE_KAFKA_BOOTSTRAP (or --servers; 9092 by default), with a data dir of its own on another port;
with --sasl they run its SASL/SCRAM broker (port 9094) instead.
topics and groups ask any broker through kafka-python's admin client, with the security settings of
consumers.kafka_security; no broker answering is one line and exit status 2.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from hotline.errors import fail, guarded
from hotline.options import Servers
from hotline.render import console, safe

broker = typer.Typer(
    help="A local Apache Kafka broker (KRaft, 127.0.0.1) from Maven Central jars; its topics and groups."
)
BROKER_SCRIPT = Path(__file__).parents[1] / "deploy" / "kafka" / "broker.sh"

Timeout = Annotated[
    float, typer.Option(min=0.1, help="Seconds to wait for a broker to answer before giving up.")
]
Group = Annotated[
    str | None, typer.Argument(help="A consumer group: its committed offsets and lag per partition.")
]


Sasl = Annotated[
    bool, typer.Option("--sasl", help="The SASL/SCRAM broker with ACLs (port 9094, its own data dir).")
]


def _broker(command: str, servers: str | None, sasl: bool) -> None:
    if not BROKER_SCRIPT.is_file():
        fail(f"{BROKER_SCRIPT} not found: run from a checkout of the repository")
    env = dict(os.environ)
    if servers:
        env["HOTLINE_KAFKA_BOOTSTRAP"] = servers
    mode = ["--sasl"] if sasl else []
    result = subprocess.run(["bash", str(BROKER_SCRIPT), *mode, command], check=False, env=env)
    raise typer.Exit(result.returncode)


@broker.command("start")
@guarded
def broker_start(servers: Servers = None, sasl: Sasl = False) -> None:
    """Fetch the jars once, format storage once, start, and wait until the broker answers.

    It listens on the port of HOTLINE_KAFKA_BOOTSTRAP (or --servers), 9092 by default; with --sasl,
    on 9094 (HOTLINE_KAFKA_SASL_PORT)."""
    _broker("start", servers, sasl)


@broker.command("stop")
@guarded
def broker_stop(servers: Servers = None, sasl: Sasl = False) -> None:
    """Stop the broker cleanly."""
    _broker("stop", servers, sasl)


@broker.command("restart")
@guarded
def broker_restart(servers: Servers = None, sasl: Sasl = False) -> None:
    """Stop the broker, then start it again and wait until it answers."""
    _broker("restart", servers, sasl)


@broker.command("status")
@guarded
def broker_status(servers: Servers = None, sasl: Sasl = False) -> None:
    """Exit 0 when the broker runs, 1 when it does not."""
    _broker("status", servers, sasl)


@broker.command("topics")
@guarded
def broker_topics(
    servers: Servers = None,
    internal: Annotated[bool, typer.Option(help="Also Kafka's own topics (__consumer_offsets ...).")] = False,
    timeout: Timeout = 5.0,
) -> None:
    """List the topics on the broker, with their partition counts."""
    with _admin(servers, timeout) as (admin, _):
        described = admin.describe_topics()
    topics = sorted(
        (t["name"], len(t["partitions"] or ())) for t in described if internal or not t.get("is_internal")
    )
    if not topics:
        console.print("no topics")
        return
    _table(("TOPIC", "PARTITIONS"), [(name, str(n)) for name, n in topics])


@broker.command("groups")
@guarded
def broker_groups(group: Group = None, servers: Servers = None, timeout: Timeout = 5.0) -> None:
    """List the consumer groups; with a group's name, its lag per partition.

    Per partition the group committed an offset on: the committed offset, the end offset and the lag."""
    with _admin(servers, timeout) as (admin, where):
        groups = {g["group_id"]: g for g in admin.list_groups()}
        if group is None:
            if not groups:
                console.print("no consumer groups")
                return
            _table(("GROUP", "STATE"), [(g, groups[g].get("group_state") or "-") for g in sorted(groups)])
            return
        if group not in groups:
            user = os.environ.get("HOTLINE_KAFKA_USERNAME")
            hidden = f", or {user} may not describe it" if user else ""
            fail(f"no consumer group {group!r} at {where} (`hotline broker groups` lists them{hidden})")
        committed = admin.list_group_offsets(group).get(group, {})
        ends = _end_offsets(admin, list(committed))
    state = groups[group].get("group_state") or "-"
    if not committed:
        console.print(f"group {safe(group)} ({safe(state)}): no committed offsets")
        return
    rows: list[tuple[str, ...]] = []
    total = 0
    for tp in sorted(committed, key=lambda tp: (tp.topic, tp.partition)):
        offset, end = committed[tp].offset, ends[tp]
        lag = max(end - offset, 0) if offset >= 0 else None
        total += lag or 0
        rows.append((tp.topic, str(tp.partition), _or_dash(offset), str(end), _or_dash(lag)))
    console.print(f"group {safe(group)} ({safe(state)}): lag {total}")
    _table(("TOPIC", "PARTITION", "COMMITTED", "END", "LAG"), rows)


def _end_offsets(admin: Any, partitions: list[Any]) -> dict[Any, int]:
    """The offset the next record of each partition will get."""
    if not partitions:
        return {}
    from kafka.admin import OffsetSpec

    found = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in partitions})
    return {tp: found[tp].offset for tp in partitions}


@contextmanager
def _admin(servers: str | None, timeout_s: float) -> Iterator[tuple[Any, str]]:
    """A connected admin client and the address it answered at; a broker that does not answer, or
    fails a request, ends the command with one line and exit status 2."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    from consumers.kafka_log import bootstrap
    from consumers.kafka_security import client_settings

    where = servers or bootstrap()
    try:
        security = client_settings()  # a KafkaError: an incomplete or contradictory setting
        admin = KafkaAdminClient(
            bootstrap_servers=where,
            client_id="hotline-broker",
            bootstrap_timeout_ms=int(timeout_s * 1000),
            request_timeout_ms=max(int(timeout_s * 1000), 5000),
            **security,
        )
    except KafkaError as err:
        _no_broker(where, timeout_s, err)
    try:
        yield admin, where
    except KafkaError as err:
        fail(f"Kafka at {where}: {err}")
    finally:
        admin.close()


def _no_broker(where: str, timeout_s: float, err: Exception) -> NoReturn:
    from kafka.errors import KafkaTimeoutError

    from consumers.kafka_security import KafkaSecurityError

    if isinstance(err, KafkaSecurityError):
        fail(str(err))
    if not isinstance(err, KafkaTimeoutError):  # kafka-python's word for "nobody answered"
        fail(f"Kafka at {where}: {err}")
    user = os.environ.get("HOTLINE_KAFKA_USERNAME")
    refused = f" (or it refuses the credentials of {user})" if user else ""
    fail(
        f"no Kafka broker answers at {where} within {timeout_s:g}s{refused}: start one with "
        "`hotline broker start`, or point HOTLINE_KAFKA_BOOTSTRAP at a running one"
    )


def _or_dash(n: int | None) -> str:
    return "-" if n is None or n < 0 else str(n)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Plain aligned columns (for people and for grep); the last column is not padded."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)] + [row[-1]]
        console.print(safe("  ".join(cells)))
