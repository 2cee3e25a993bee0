"""`hotline serve` and `python -m consumers.api`: the API on a replica of the facts topic.

The app is `create_app`'s, with Prometheus metrics and GET /metrics (`consumers.api.metrics.instrument`,
docs/metrics.md), and /ready answers 503 while no broker answers (`consumers.api.status.BrokerCheck`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from access.tokens import TokenStore, TokenStoreError
from consumers.api.app import create_app
from consumers.api.decisions import DecisionPublisher
from consumers.api.metrics import instrument
from consumers.api.openapi import OPENAPI_PATH, write_openapi
from consumers.api.reveal import Pseudonyms
from consumers.api.status import BrokerCheck, watch_broker
from consumers.replica import Replica
from domain.policy import PolicyError
from domain.policy_history import PolicyHistory, load_policies
from storage.keystore import KeyStore

log = logging.getLogger("hotline.api")


async def _probe(servers: str) -> None:
    from aiokafka.client import AIOKafkaClient

    from consumers.kafka_security import client_settings

    client = AIOKafkaClient(bootstrap_servers=servers, **client_settings())
    try:
        await client.bootstrap()
    finally:
        await client.close()


def main_serve(
    host: str,
    port: int,
    servers: str | None,
    namespace: str | None,
    policy: PolicyHistory | None = None,
    log_level: str = "info",
    state_dir: Path | None = None,
    tokens_path: Path | None = None,
    keys: Path | None = None,
) -> None:
    """`hotline serve`: the API on a replica of the facts topic; decisions go to admission-decisions.

    Exits with one line when the token store (`tokens_path`, else $HOTLINE_TOKENS, else
    hotline-tokens.db) is missing or holds no usable token: the API never serves unauthenticated.
    Raises ConnectionError (one line) when no broker answers at `servers`. `policy`: the versions in
    force one after another (hotline.opening.load); None: the shipped pack. Admission answers under
    the version in force at the call (Replica.policy_at). `keys`: a sealed line's key store (numbers
    asked are matched as pseudonyms, answers shown in clear); KeyStoreError when it is missing."""
    import asyncio

    import uvicorn
    from aiokafka.errors import KafkaError

    from consumers.kafka_log import bootstrap

    try:
        tokens = TokenStore.for_server(tokens_path)
    except TokenStoreError as err:
        raise SystemExit(f"error: {err}") from None
    history = policy or load_policies([])
    sealed = None if keys is None else Pseudonyms(KeyStore(keys, threads=True))  # docs/privacy.md
    servers = servers or bootstrap()
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the probe's failure is reported below
    try:
        asyncio.run(_probe(servers))
    except (KafkaError, OSError) as err:
        raise ConnectionError(f"no Kafka broker answers at {servers}: {err}") from None
    finally:
        logging.getLogger("aiokafka").setLevel(logging.NOTSET)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    replica = Replica.from_kafka(servers, namespace, history, state_dir)
    watch_broker(replica, BrokerCheck(servers))  # /ready: 503 while no broker answers
    app = instrument(create_app(replica, tokens, DecisionPublisher(servers, namespace), sealed), tokens)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m consumers.api")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the query API on a replica of the facts topic")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--servers", default=None, help="bootstrap servers (default $HOTLINE_KAFKA_BOOTSTRAP)")
    serve.add_argument("--namespace", default=None, help="topic namespace (default $HOTLINE_NAMESPACE)")
    serve.add_argument(
        "--policy", type=Path, action="append", help="a pack or a directory of packs; repeat for a history"
    )
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--state-dir", type=Path, default=None, help="facts and checkpoints on disk")
    serve.add_argument("--tokens", type=Path, default=None, help="token store (default $HOTLINE_TOKENS)")
    doc = commands.add_parser("openapi", help="write the OpenAPI document")
    doc.add_argument("--out", type=Path, default=OPENAPI_PATH)
    args = parser.parse_args(argv)
    if args.command == "openapi":
        print(f"wrote {write_openapi(args.out)}")
        return
    try:
        history = load_policies(args.policy or [])
    except (OSError, PolicyError) as err:
        raise SystemExit(f"error: {err}") from None
    try:
        main_serve(
            args.host,
            args.port,
            args.servers,
            args.namespace,
            history,
            args.log_level,
            args.state_dir,
            args.tokens,
        )
    except ConnectionError as err:
        raise SystemExit(f"error: {err}") from None
