"""Prometheus metrics without a broker: the API's, the worker's and ingest's counters move by exactly
what hand-made requests and facts should move them, /metrics needs a role that may read, label
values stay in closed sets, and /ready says 503 while no broker answers."""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import time
import urllib.request
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import msgspec
import pytest
from prometheus_client import CollectorRegistry

with warnings.catch_warnings():  # Starlette asks for httpx2 instead of httpx; the client works the same
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from access.roles import Role
from consumers.api import create_app
from consumers.api.metrics import instrument
from consumers.api.routing import ENDPOINTS
from consumers.api.status import BrokerCheck, _address, watch_broker
from consumers.metrics_http import UNMATCHED, MetricsServer
from consumers.replica import Replica
from consumers.worker.config import WorkerConfig
from consumers.worker.metrics import metrics_port
from consumers.worker.runtime import Runtime
from domain.admission import REASON_ORDER
from producers.http_ingest import ingest_app
from producers.kafka_producer import PublishReport
from producers.metrics import IngestMetrics, field_label
from producers.validate import Rejection
from schemas import facts as f
from schemas.codec import fact_to_json, normalise
from tests.unit.builders import POLICY as BUILDER_POLICY
from tests.unit.builders import annul
from tests.unit.credentials import Credentials
from tests.unit.test_api_offline import POLICY, example_facts
from tests.unit.test_projector import history as projector_history

# A call the example facts refuse (the model does not match the barcode), and one they admit.
REFUSED = {"account": "A-1001", "number": "13912345678", "barcode": "210235A1B2C3", "model": "ST-9999"}
REFUSED |= {"site": "SITE-77-SH-01", "at": "2025-03-20T10:00:00+08:00"}
ADMITTED = REFUSED | {"model": "ST-5310", "at": "2025-03-03T09:30:00+08:00"}


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def label_values(registry: CollectorRegistry, name: str, label: str) -> set[str]:
    return {s.labels[label] for m in registry.collect() for s in m.samples if s.name == name}


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    return Credentials(tmp_path_factory.mktemp("tokens"))


@pytest.fixture
def api(creds: Credentials) -> Iterator[tuple[TestClient, CollectorRegistry, Replica]]:
    replica = Replica.from_facts(example_facts(), POLICY)
    app = instrument(create_app(replica, creds.store), creds.store)
    with TestClient(app, headers=creds.headers(Role.READER)) as client:
        yield client, app.state.metrics.registry, replica


# --- the API ----------------------------------------------------------------------------------------
def test_admission_outcomes_and_reasons_are_counted_once_per_answer(
    api: tuple[TestClient, CollectorRegistry, Replica], creds: Credentials
) -> None:
    client, registry, _ = api
    answers = [client.get("/admission", params=q, headers=creds.router) for q in (REFUSED, REFUSED, ADMITTED)]
    assert [a.json()["admitted"] for a in answers] == [False, False, True]
    codes = [r["code"] for r in answers[0].json()["reasons"]]
    assert codes and set(codes) <= set(REASON_ORDER)
    bad = client.get("/admission", params=REFUSED | {"at": "yesterday"}, headers=creds.router)
    assert bad.status_code == 400
    denied = client.get("/admission", params=REFUSED)  # a reader may not ask admission
    assert denied.status_code == 403

    assert value(registry, "hotline_api_admission_decisions_total", outcome="refused") == 2
    assert value(registry, "hotline_api_admission_decisions_total", outcome="admitted") == 1
    for code in set(codes):
        assert value(registry, "hotline_api_admission_refusal_reasons_total", reason=code) == 2 * codes.count(
            code
        )
    hist = "hotline_api_http_request_duration_seconds_count"
    assert value(registry, hist, route="/admission", status="200") == 3
    assert value(registry, hist, route="/admission", status="400") == 1
    assert value(registry, hist, route="/admission", status="403") == 1


def test_routes_are_labelled_by_template_and_unknown_paths_share_one_label(
    api: tuple[TestClient, CollectorRegistry, Replica],
) -> None:
    client, registry, _ = api
    rng = random.Random(9)
    for _ in range(30):
        subject = f"A-{rng.randrange(10**6)}"
        assert client.get(f"/blacklist/account/{subject}").status_code == 200
        assert client.get(f"/no/such/{subject}").status_code == 404
    hist = "hotline_api_http_request_duration_seconds_count"
    assert value(registry, hist, route="/blacklist/{kind}/{subject}", status="200") == 30
    assert value(registry, hist, route=UNMATCHED, status="404") == 30
    templates = {e.path for e in ENDPOINTS} | {"/metrics", UNMATCHED}
    assert label_values(registry, hist, "route") <= templates
    assert len(label_values(registry, hist, "status")) <= 2


def test_unknown_reason_codes_are_counted_as_other(
    api: tuple[TestClient, CollectorRegistry, Replica],
) -> None:
    _, registry, _ = api
    metrics = api[0].app.state.metrics  # type: ignore[attr-defined]
    body = msgspec.json.encode({"admitted": False, "reasons": [{"code": "made-up\nby a newer core"}]})
    metrics.count_answer(200, body)
    metrics.count_answer(500, body)  # not a decision
    assert value(registry, "hotline_api_admission_refusal_reasons_total", reason="other") == 1
    assert label_values(registry, "hotline_api_admission_refusal_reasons_total", "reason") <= {
        *REASON_ORDER,
        "other",
    }


def test_metrics_needs_a_role_that_may_read(
    api: tuple[TestClient, CollectorRegistry, Replica], creds: Credentials
) -> None:
    client, _, replica = api
    assert client.get("/metrics", headers={"authorization": ""}).status_code == 401
    for role in (Role.ROUTER, Role.PRODUCER_CRM, Role.PRODUCER_CALLCENTRE):
        assert client.get("/metrics", headers=creds.headers(role)).status_code == 403
    for role in (Role.READER, Role.AUDITOR, Role.STAFF):
        answer = client.get("/metrics", headers=creds.headers(role))
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert f"hotline_api_replica_facts {float(replica.applied)}" in text
    assert "hotline_api_ready 1.0" in text


# --- /ready and the broker --------------------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_ready_is_503_while_no_broker_answers(creds: Credentials) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    servers = f"127.0.0.1:{closed_port()},127.0.0.1:{listener.getsockname()[1]}"
    replica = Replica.from_facts(example_facts(), POLICY)
    check = BrokerCheck(servers, every=0.05, timeout=0.2)
    watch_broker(replica, check)
    app = instrument(create_app(replica, creds.store), creds.store)
    with TestClient(app, headers=creds.headers(Role.READER)) as client:
        assert client.get("/ready").status_code == 200  # one of the two servers answers
        listener.close()
        deadline = time.monotonic() + 5
        while (answer := client.get("/ready")).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert answer.status_code == 503
        assert "no Kafka broker answers at" in answer.json()["error"]
        assert client.get("/status").json()["ready"] is False
        text = client.get("/metrics").text
        assert "hotline_api_broker_reachable 0.0" in text and "hotline_api_ready 0.0" in text


def test_bootstrap_addresses_are_read_as_kafka_writes_them() -> None:
    assert _address(" broker1:9093") == ("broker1", 9093)
    assert _address("broker1") == ("broker1", 9092)
    assert _address("[::1]:9094") == ("::1", 9094)
    assert _address("::1") == ("::1", 9092)
    assert _address(":9095") == ("localhost", 9095)
    port = closed_port()  # the check connects at once: no name to resolve, nothing listening
    assert BrokerCheck(f"127.0.0.1:{port}, [::1]:{port}").addresses == [("127.0.0.1", port), ("::1", port)]


def test_a_broker_down_from_the_start_is_seen_at_once() -> None:
    started = time.perf_counter()
    check = BrokerCheck(f"127.0.0.1:{closed_port()}", every=60)
    assert check.reachable() is False
    assert time.perf_counter() - started < 1.0
    started = time.perf_counter()
    for _ in range(1000):
        check.reachable()  # cached: no connection per call
    assert time.perf_counter() - started < 0.1


# --- the worker -------------------------------------------------------------------------------------
class _Emitter:
    sent = 0

    async def publish(self, state: Any, latest: Any) -> None:
        self.sent += 3

    def live(self) -> int:
        return self.sent


def records(facts: list[f.Fact], partition: int, first: int) -> list[tuple[int, int, bytes, float]]:
    """As the agent takes them; sent 10 s ago, past the reorder buffer's grace for idle partitions."""
    sent = time.time() - 10
    return [(partition, first + i, fact_to_json(fact), sent) for i, fact in enumerate(facts)]


def test_worker_counts_facts_refolds_undecodable_records_and_lag(tmp_path: Path) -> None:
    facts = sorted(example_facts(), key=lambda fact: fact.at)
    runtime = Runtime(WorkerConfig(0, 1, servers="127.0.0.1:1", datadir=tmp_path), POLICY)
    runtime.emitter = _Emitter()  # type: ignore[assignment]
    m = runtime.metrics
    head, late = facts[:-1], facts[0]
    runtime.receive(records(head[:20], 0, 0) + records(head[20:], 1, 0))
    runtime.receive([(1, len(head) - 20, b'{"type": "no.such.fact"}', time.time())])
    runtime.apply(idle=range(4))
    asyncio.run(runtime.publish())
    assert value(m.registry, "hotline_worker_facts_applied_total") == len(head)
    assert value(m.registry, "hotline_worker_records_received_total") == len(head) + 1
    assert value(m.registry, "hotline_worker_records_undecodable_total") == 1
    assert value(m.registry, "hotline_worker_records_published_total") == 3
    refolds_before = value(m.registry, "hotline_worker_refolds_total")

    # The last fact, then a late one: a copy of the first fact under a new id, an hour earlier.
    runtime.receive(records([facts[-1]], 2, 0))
    runtime.apply(idle=range(4))
    asyncio.run(runtime.publish())
    earlier = msgspec.structs.replace(late, id=f"{late.id}-late", at=late.at - timedelta(hours=1))
    runtime.receive(records(head[:20], 0, 0) + records([earlier], 0, 20))  # re-sent facts count once
    runtime.apply(idle=range(4))
    asyncio.run(runtime.publish())
    assert value(m.registry, "hotline_worker_facts_applied_total") == len(facts) + 1
    assert value(m.registry, "hotline_worker_refolds_total") == refolds_before + 1
    assert value(m.registry, "hotline_worker_refold_duration_seconds_count") == refolds_before + 1
    assert value(m.registry, "hotline_worker_records_published_total") == 9

    runtime.ends = {0: 25, 1: len(head) - 19, 2: 1}.copy  # partition 3 never heard of
    asyncio.run(runtime.tick())
    lag = {p: value(m.registry, "hotline_worker_lag_records", partition=str(p)) for p in range(4)}
    assert lag == {0: 4, 1: 0, 2: 0, 3: 0}
    assert label_values(m.registry, "hotline_worker_lag_records", "partition") == {"0", "1", "2", "3"}
    assert value(m.registry, "hotline_worker_facts") == len(facts) + 1
    assert value(m.registry, "hotline_worker_ready") == 1


def test_worker_counts_annulments_voided_in_place(tmp_path: Path) -> None:
    """tests/unit/test_projector.py's history: R1 confirmed on March 10, then only a2 calls on its
    own number; annulling R1 refolds nothing, and the worker says so."""
    facts = sorted(projector_history(), key=lambda fact: fact.at)
    runtime = Runtime(WorkerConfig(0, 1, servers="127.0.0.1:1", datadir=tmp_path), BUILDER_POLICY)
    runtime.emitter = _Emitter()  # type: ignore[assignment]
    runtime.receive(records(facts, 0, 0))
    runtime.apply(idle=range(4))
    asyncio.run(runtime.publish())
    runtime.receive(records([normalise(annul("R1", "2025-04-09T10:00", id="annul-R1"))], 0, len(facts)))
    runtime.apply(idle=range(4))
    asyncio.run(runtime.publish())
    assert value(runtime.metrics.registry, "hotline_worker_annulments_voided_total") == 1
    assert value(runtime.metrics.registry, "hotline_worker_refolds_total") == 0
    assert runtime.status()["annulments_voided"] == 1
    assert runtime.projector.state().penalties["R1/account"].annulled_at is not None


def test_worker_metrics_port_follows_the_index() -> None:
    assert metrics_port(2, {}) is None
    assert metrics_port(2, {"HOTLINE_METRICS_PORT": "9300"}).port == 9302  # type: ignore[union-attr]
    assert metrics_port(2, {"HOTLINE_METRICS_PORT": "0"}).port == 0  # type: ignore[union-attr]
    found = metrics_port(0, {"HOTLINE_METRICS_PORT": "9300", "HOTLINE_METRICS_HOST": "0.0.0.0"})
    assert found is not None and found.host == "0.0.0.0"
    for bad in ("http", "70000", "-1"):
        with pytest.raises(ValueError, match="HOTLINE_METRICS_PORT"):
            metrics_port(0, {"HOTLINE_METRICS_PORT": bad})
    with pytest.raises(ValueError, match="past the last port"):
        metrics_port(3, {"HOTLINE_METRICS_PORT": "65534"})


def fetch(url: str, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except HTTPError as err:
        return err.code, err.read().decode()


def test_worker_metrics_server_needs_a_role_that_may_read(tmp_path: Path, creds: Credentials) -> None:
    runtime = Runtime(WorkerConfig(0, 1, servers="127.0.0.1:1", datadir=tmp_path), POLICY)
    server = MetricsServer(runtime.metrics.registry, creds.store, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{server.port}/metrics"
    try:
        assert fetch(url, None)[0] == 401
        assert fetch(url, "hlt_not-a-token")[0] == 401
        assert fetch(url, creds.tokens[Role.ROUTER])[0] == 403
        status, text = fetch(url, creds.tokens[Role.READER])
        assert status == 200 and 'hotline_worker_lag_records{partition="0"} 0.0' in text
        assert fetch(url.replace("/metrics", "/other"), creds.tokens[Role.READER])[0] == 404
    finally:
        server.stop()


# --- ingest -----------------------------------------------------------------------------------------
def test_reject_fields_are_bounded() -> None:
    assert field_label("barcode") == "barcode" and field_label("type") == "type"
    assert field_label(None) == "none" and field_label("") == "none"
    assert field_label("account_id, barcode") == "several"
    assert field_label("barcod") == "other"  # an unknown field named by the sender
    assert field_label("request.at") == "other" and field_label("at[0]") == "at"
    metrics = IngestMetrics()
    made_up = [
        Rejection(file="http:x", line=i, field=f"k{i}", reason="unknown field", raw="") for i in range(50)
    ]
    twice = [Rejection(file="http:x", line=99, field=name, reason="r", raw="") for name in ("at", "id")]
    metrics.batch(7, 2, made_up + twice)
    r = metrics.registry
    assert value(r, "hotline_ingest_facts_accepted_total") == 7
    assert value(r, "hotline_ingest_facts_duplicate_total") == 2
    assert value(r, "hotline_ingest_lines_rejected_total") == 51
    assert value(r, "hotline_ingest_rejects_total", field="other") == 50
    assert label_values(r, "hotline_ingest_rejects_total", "field") == {"other", "at", "id"}


class _Publisher:
    metrics: IngestMetrics | None = None

    def publish_sources(self, sources: Any, allowed: Any = None, sender: str = "") -> PublishReport:
        return PublishReport()


def test_ingest_metrics_route_needs_a_role_that_may_read(creds: Credentials) -> None:
    publisher = _Publisher()
    app = ingest_app(publisher, creds.store)  # type: ignore[arg-type]
    assert publisher.metrics is app.state.metrics  # the publisher counts into the app's registry
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=creds.headers(Role.PRODUCER_CRM)).status_code == 403
        lines = {"content-type": "application/x-ndjson"}
        posted = client.post("/facts", content=b"{}", headers=creds.headers(Role.PRODUCER_CRM, **lines))
        assert posted.status_code == 202
        text = client.get("/metrics", headers=creds.headers(Role.READER)).text
    assert 'hotline_ingest_http_request_duration_seconds_count{route="/facts",status="202"} 1.0' in text
    assert 'route="/metrics",status="403"' in text


# --- the documentation and the dashboard --------------------------------------------------------------
def exported_names() -> tuple[set[str], set[str]]:
    """(names as docs/metrics.md writes them, names a PromQL query may use), of all three processes."""
    from consumers.api.metrics import ApiMetrics
    from consumers.worker.metrics import WorkerMetrics

    replica = Replica.from_facts([], POLICY)
    watch_broker(replica, BrokerCheck(f"127.0.0.1:{closed_port()}", every=60))
    documented: set[str] = set()
    queried: set[str] = set()
    for registry in (ApiMetrics(replica).registry, WorkerMetrics(4).registry, IngestMetrics().registry):
        for family in registry.collect():
            if family.type == "counter":
                documented.add(f"{family.name}_total")
                queried.add(f"{family.name}_total")
            elif family.type == "histogram":
                documented.add(family.name)
                queried.update(f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum"))
            else:
                documented.add(family.name)
                queried.add(family.name)
    return documented, queried


def test_every_metric_is_documented_and_the_dashboard_uses_only_real_ones() -> None:
    root = Path(__file__).parents[2]
    documented, queried = exported_names()
    doc = (root / "docs" / "metrics.md").read_text()
    in_doc = set(re.findall(r"`(hotline_\w+)`", doc))
    assert documented <= in_doc, f"not in docs/metrics.md: {sorted(documented - in_doc)}"
    assert in_doc <= documented, f"documented but not exported: {sorted(in_doc - documented)}"
    dashboard = json.loads((root / "deploy" / "grafana" / "hotline.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {name for expr in exprs for name in re.findall(r"\bhotline_\w+", expr)}
    assert used and used <= queried, f"the dashboard asks for {sorted(used - queried)}"
    for wanted in (
        "hotline_worker_lag_records",
        "hotline_worker_refolds_total",
        "hotline_ingest_rejects_total",
    ):
        assert wanted in used


def test_worker_status_splits_the_lag_before_the_worker_had_the_record(tmp_path: Path) -> None:
    """Records sent 10 s before the live reader handed them over: 10 s of arrival lag each, the
    undecodable one not counted (it is no fact)."""
    facts = sorted(example_facts(), key=lambda fact: fact.at)[:5]
    runtime = Runtime(WorkerConfig(0, 1, servers="127.0.0.1:1", datadir=tmp_path), POLICY)
    runtime.receive(records(facts, 0, 0) + [(0, 5, b'{"type": "no.such.fact"}', time.time() - 10)])
    arrival = runtime.status()["arrival_lag_ms"]
    assert arrival["n"] == 5
    assert 10_000 <= arrival["p50"] <= arrival["p99"] < 12_000  # 10 s, and the test's own time
