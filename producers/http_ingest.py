"""HTTP ingest: `POST /facts` with JSON Lines (or a JSON array of facts), checked and published by
the same `FactPublisher` as the file producers.

The answer is 202 with {"request_id", "accepted", "duplicates", "rejected": [{"line", "field",
"reason"}]}: the good facts of a batch land even when other lines are refused, and each refused line
also goes to the rejects topic under the key "http:{request_id}:{line}". `line` counts lines of a
JSON Lines body, or elements (from 1) of a JSON array. The client may name the request with an
`X-Request-Id` header (letters, digits, `.`, `_`, `-`; up to 64), else one is made up.

`GET /metrics` serves the Prometheus metrics of producers.metrics to a token whose role may read
(docs/metrics.md).

Every request needs `Authorization: Bearer <token>` of a role that may post facts (access.roles):
`producer:crm` the CRM's facts, `producer:callcentre` the call centre's, `staff` judgements and
reports. A line of a type the token's role may not post is refused on its own (field "type"), like
any other bad line; the other lines land.

400: an empty body, a body that is not UTF-8, a body starting with `[` that is not a JSON array.
401: no token, or an unknown or revoked one. 403: a role that may not post facts. 413: a body over
the size limit (read in chunks, never past it). 415: a content type other than application/json or
application/x-ndjson. 503: the broker did not take the batch (send it again: facts that did land are
recognised as re-sends). Every error is {"error": "..."}.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from access.http import JSON_OR_LINES, Gate, principal_of, read_body
from access.roles import Action, may_post
from access.tokens import TokenStore, TokenStoreError
from consumers.metrics_http import RequestMetrics, metrics_route
from producers.kafka_producer import FactPublisher, PublishError
from producers.metrics import IngestMetrics
from producers.sources import Source
from schemas.codec import MAX_DEPTH, nests_deeper_than
from storage.keystore import KeyStore

MAX_BODY = 64 << 20  # 64 MiB: about 250k facts; bigger batches belong in files (`hotline produce`)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RejectedLine(msgspec.Struct):
    line: int
    field: str | None
    reason: str


class IngestAnswer(msgspec.Struct):
    request_id: str
    accepted: int  # facts of the batch now on the facts topic (new, or sent before)
    duplicates: int  # of those, the ones that were there already (not sent again)
    rejected: list[RejectedLine]


class ErrorAnswer(msgspec.Struct):
    error: str


def _json(obj: msgspec.Struct, status: int) -> Response:
    return Response(msgspec.json.encode(obj), status_code=status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json(ErrorAnswer(message), status)


def split_body(body: bytes) -> list[bytes]:
    """The body's facts, one per item: JSON Lines as they are, a JSON array split into its elements
    (still raw, so each one is validated, and refused, on its own). Raises ValueError with a
    message for the client."""
    if body.lstrip()[:1] != b"[":
        return body.split(b"\n")
    if nests_deeper_than(body, MAX_DEPTH + 1):  # the array itself is one level
        raise ValueError(f"the body nests deeper than {MAX_DEPTH} levels: send flatter facts")
    try:
        elements = msgspec.json.decode(body, type=list[msgspec.Raw])
    except msgspec.DecodeError as err:
        raise ValueError(f"the body starts with `[` but is not a JSON array: {err}") from None
    return [bytes(e) for e in elements]


def ingest_app(
    publisher: FactPublisher,
    tokens: TokenStore,
    max_body: int = MAX_BODY,
    metrics: IngestMetrics | None = None,
) -> Starlette:
    """POST /facts behind the token gate: only roles that may post facts, each line checked against
    the types its role may post. GET /metrics (a token whose role may read): the publisher's counts
    and the request latency, in `metrics` (a new registry when not given; `app.state.metrics`)."""
    metrics = metrics or IngestMetrics()
    if getattr(publisher, "metrics", None) is None:  # a stand-in publisher (tests) may lack it
        publisher.metrics = metrics
    gate = Gate(tokens, render=lambda status, message: _error(status, message))

    async def post_facts(request: Request) -> Response:
        body = await read_body(request, max_body)  # over the limit: 413 (send files instead)
        if not body.strip():
            return _error(400, "empty body: send JSON Lines (one fact per line) or a JSON array of facts")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as err:
            return _error(400, f"the body is not UTF-8 (byte {err.start + 1}); send UTF-8 JSON")
        try:
            lines = split_body(body)
        except ValueError as err:
            return _error(400, str(err))
        given = request.headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
        source = Source(f"http:{request_id}", lines)
        role = principal_of(request).role
        try:
            # kafka-python blocks (the flush waits for the broker): keep the event loop free.
            report = await run_in_threadpool(
                publisher.publish_sources, [source], may_post(role), f"a {role} token"
            )
        except PublishError as err:
            return _error(503, f"{err}")
        rejected = [RejectedLine(r.line, r.field, r.reason) for r in report.rejected]
        return _json(IngestAnswer(request_id, report.accepted, report.duplicates, rejected), 202)

    guarded = gate.protect(post_facts, Action.POST_FACTS, accepts=JSON_OR_LINES, max_body=max_body)
    app = Starlette(
        routes=[Route("/facts", guarded, methods=["POST"]), metrics_route(metrics.registry, tokens)]
    )
    app.add_middleware(RequestMetrics, histogram=metrics.requests)
    app.state.metrics = metrics
    return app


def main_ingest_server(
    host: str = "127.0.0.1",
    port: int = 8081,
    servers: str | None = None,
    namespace: str | None = None,
    role: str = "any",
    tokens_path: Path | None = None,
    keys: KeyStore | None = None,
) -> None:
    """`hotline ingest-server`: serve POST /facts until interrupted. Exits with one line when the
    token store is missing or holds no usable token (it never serves unauthenticated); raises
    PublishError when the broker cannot be reached at start."""
    import uvicorn

    try:
        tokens = TokenStore.for_server(tokens_path)
    except TokenStoreError as err:
        raise SystemExit(f"error: {err}") from None
    with tokens, FactPublisher(servers, namespace, role=role, keys=keys) as publisher:
        uvicorn.run(ingest_app(publisher, tokens), host=host, port=port, log_level="info")
