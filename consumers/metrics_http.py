"""Prometheus over HTTP for the Starlette apps (query API, HTTP ingest) and the worker's own server.

- `RequestMetrics`: an ASGI middleware timing every request into one histogram labelled by the
  route *template* (`/blacklist/{kind}/{subject}`, never the raw path: ids would make a series per
  subject) and the status code. Requests that match no route share the label `unmatched`.
- `metrics_route`: `GET /metrics` behind the token gate, action `read` (roles reader, auditor,
  staff): the figures are not secret, but they show traffic and who is being refused, and every
  other non-probe route of these apps needs a token too. Prometheus sends the token with
  `authorization: {type: Bearer, credentials_file: ...}` in its scrape config (docs/metrics.md).
- `MetricsServer`: prometheus_client's exposition on its own port, behind the same token check, for
  processes with no web server of their own (the worker).

Each app has its own `CollectorRegistry`, never the global one, so two apps in one process (tests,
benches) count apart.
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from access.http import Gate
from access.roles import Action, may
from access.tokens import TokenStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: called with (status, body) of each answer of the route it is registered for
BodyHook = Callable[[int, bytes], None]

UNMATCHED = "unmatched"  # every path no route matched: one series, whatever was asked
# Admission answers in about a millisecond (docs/sla.md target: p99 <= 2 ms), so the buckets are
# fine below 10 ms; the slow views (explain, digest over a fold) land in the upper ones.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RouteLatency(Collector):
    """The request histogram, by (route template, status). Not prometheus_client's Histogram: that
    takes a lock per bucket and per sum on every observation, several microseconds a request on
    the admission path. Here an observation is a bisect and two additions; it is made on the event
    loop, and /metrics is answered on the same loop, so a scrape never sees half an observation."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = [*buckets, math.inf]
        # (route, status) -> a count per bucket (not cumulative), then the sum of the seconds
        self.series: dict[tuple[str, int], list[float]] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        counts = self.series.get((route, status))
        if counts is None:
            counts = self.series[(route, status)] = [0.0] * (len(self.bounds) + 1)
        counts[bisect_left(self.bounds, seconds)] += 1
        counts[-1] += seconds

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=["route", "status"])
        for (route, status), counts in sorted(self.series.items()):
            cumulative, buckets = 0.0, []
            for bound, n in zip(self.bounds, counts, strict=False):
                cumulative += n
                buckets.append((floatToGoString(bound), cumulative))
            family.add_metric([route, str(status)], buckets, sum_value=counts[-1])
        yield family


def request_histogram(registry: CollectorRegistry, prefix: str) -> RouteLatency:
    latency = RouteLatency(
        f"{prefix}_http_request_duration_seconds",
        "Time from request to the end of the response, by route template and status code",
    )
    registry.register(latency)
    return latency


class RequestMetrics:
    """ASGI middleware (Starlette's `add_middleware` or a plain wrapper). The route template is read
    after the call from `scope["route"]`, which Starlette's router sets on the shared scope."""

    def __init__(
        self, app: ASGIApp, histogram: RouteLatency, body_hooks: dict[str, BodyHook] | None = None
    ) -> None:
        self.app = app
        self.histogram = histogram
        self.body_hooks = body_hooks or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering
        hook: BodyHook | None = None
        chunks: list[bytes] = []

        async def sending(message: Message) -> None:
            nonlocal status, hook
            if message["type"] == "http.response.start":
                status = message["status"]
                hook = self.body_hooks.get(_template(scope)) if self.body_hooks else None
            elif hook is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.histogram.observe(_template(scope), status, time.perf_counter() - started)
            if hook is not None:
                hook(status, b"".join(chunks))


def _template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def exposition(registry: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics


def metrics_route(registry: CollectorRegistry, tokens: TokenStore) -> Route:
    """GET /metrics for a token whose role may `read`."""
    return Route("/metrics", Gate(tokens).protect(exposition(registry), Action.READ), methods=["GET"])


# --- a port of its own (the worker) -----------------------------------------------------------------
class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass  # a scrape every 15 s would fill the worker's log


def metrics_wsgi(registry: CollectorRegistry, tokens: TokenStore) -> Callable[..., list[bytes]]:
    """/metrics as a WSGI app: the same bearer check and role as the Starlette route."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            return _answer(start_response, "404 Not Found", b'{"error": "only /metrics here"}')
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
        principal = tokens.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if principal is None:
            body = b'{"error": "send `Authorization: Bearer <token>` of a role that may read"}'
            return _answer(start_response, "401 Unauthorized", body, [("WWW-Authenticate", "Bearer")])
        if not may(principal.role, Action.READ):
            return _answer(start_response, "403 Forbidden", b'{"error": "this role may not read"}')
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest(registry)]

    return app


def _answer(
    start_response: Callable[..., Any], status: str, body: bytes, headers: list[tuple[str, str]] | None = None
) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json"), *(headers or [])])
    return [body]


class MetricsServer:
    """/metrics on host:port in a daemon thread; port 0 takes a free one (see `port`)."""

    def __init__(self, registry: CollectorRegistry, tokens: TokenStore, host: str, port: int) -> None:
        self.server = make_server(
            host, port, metrics_wsgi(registry, tokens), ThreadingWSGIServer, handler_class=_Quiet
        )
        self.port: int = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name="metrics", daemon=True)

    def start(self) -> MetricsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
