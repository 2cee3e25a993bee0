"""Prometheus metrics of the query API: request latency, admission outcomes, the replica's progress.

`instrument(app, tokens)` adds them to an app made by `create_app` (the request middleware and
`GET /metrics` for a token whose role may read) and returns the same app; `hotline serve` calls it,
and so should any other process serving the API (the embedded `serve --log`). Every figure is in a
registry of the app's own (`app.state.metrics.registry`).

Admission decisions are counted from the answers of `/admission` as they leave (decoded with a
struct of two fields, a few microseconds), so they count exactly what callers were told, whatever
recorder the app was given. Reason codes are the closed list of domain.admission.REASON_ORDER; a
code outside it (a newer core than this module) is counted as `other`.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette

from access.tokens import TokenStore
from consumers.api.status import broker_check
from consumers.metrics_http import RequestMetrics, metrics_route, request_histogram
from consumers.replica import Replica
from domain.admission import REASON_ORDER

ADMISSION_ROUTE = "/admission"


class _Code(msgspec.Struct):
    code: str


class _Outcome(msgspec.Struct):
    """The two fields of an AdmissionDecision the counters need; the rest is skipped unread."""

    admitted: bool
    reasons: list[_Code] = []


_decode_outcome = msgspec.json.Decoder(_Outcome).decode


class ApiMetrics:
    def __init__(self, replica: Replica) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = request_histogram(self.registry, "hotline_api")
        self.admission = AdmissionCounts()
        self.registry.register(self.admission)
        self.registry.register(ReplicaCollector(replica))

    def count_answer(self, status: int, body: bytes) -> None:
        """One /admission answer; only 200s carry a decision (errors are in the latency histogram)."""
        if status != 200:
            return
        try:
            outcome = _decode_outcome(body)
        except msgspec.DecodeError:
            return  # not a decision: nothing to count
        counts = self.admission
        if outcome.admitted:
            counts.admitted += 1
            return
        counts.refused += 1
        reasons = counts.reasons
        for reason in outcome.reasons:
            code = reason.code if reason.code in reasons else "other"
            reasons[code] += 1


class AdmissionCounts(Collector):
    """Plain integers rather than prometheus_client Counters (a lock per increment): they are
    counted on the event loop, and /metrics reads them on the same loop."""

    def __init__(self) -> None:
        self.admitted = 0
        self.refused = 0
        self.reasons = dict.fromkeys((*REASON_ORDER, "other"), 0)  # every code has a series from the start

    def collect(self) -> Iterator[CounterMetricFamily]:
        decisions = CounterMetricFamily(
            "hotline_api_admission_decisions",
            "Admission answers given, by outcome (admitted, refused)",
            labels=["outcome"],
        )
        decisions.add_metric(["admitted"], self.admitted)
        decisions.add_metric(["refused"], self.refused)
        yield decisions
        reasons = CounterMetricFamily(
            "hotline_api_admission_refusal_reasons",
            "Reasons given in refusals, by reason code (a refusal may give several)",
            labels=["reason"],
        )
        for code, n in self.reasons.items():
            reasons.add_metric([code], n)
        yield reasons


class ReplicaCollector(Collector):
    """Read from the replica at scrape time: nothing to keep in step while it runs."""

    def __init__(self, replica: Replica) -> None:
        self.replica = replica

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        replica = self.replica
        yield GaugeMetricFamily(
            "hotline_api_replica_facts", "Distinct facts the replica's projection holds", replica.applied
        )
        yield CounterMetricFamily(
            "hotline_api_replica_records_read",
            "Records read from the facts topic (re-sent facts included)",
            replica.records,
        )
        lag = GaugeMetricFamily(
            "hotline_api_replica_lag_records",
            "Records of the facts topic not read yet, by partition (end offset - position), "
            "as of the replica's last look (every second)",
            labels=["partition"],
        )
        for partition, behind in sorted(dict(replica.lag).items()):
            lag.add_metric([str(partition)], behind)
        yield lag
        yield CounterMetricFamily(
            "hotline_api_replica_refolds", "Refolds (late facts, annulments)", replica.projector.refolds
        )
        ready = replica.ready
        check = broker_check(replica)
        if check is not None:
            up = check.reachable()
            ready = ready and up
            yield GaugeMetricFamily(
                "hotline_api_broker_reachable", "1 when a bootstrap server accepts a connection", int(up)
            )
        yield GaugeMetricFamily("hotline_api_ready", "1 when GET /ready answers 200", int(ready))


def instrument(app: Starlette, tokens: TokenStore) -> Starlette:
    """Add request metrics and GET /metrics to an app of `create_app`, before it starts."""
    metrics = ApiMetrics(app.state.replica)
    app.add_middleware(
        RequestMetrics, histogram=metrics.requests, body_hooks={ADMISSION_ROUTE: metrics.count_answer}
    )
    # first: a catch-all route added later (a dashboard mounted at /) must not shadow it
    app.router.routes.insert(0, metrics_route(metrics.registry, tokens))
    app.state.metrics = metrics
    return app
