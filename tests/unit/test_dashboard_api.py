"""`hotline serve --log` and the dashboard's JSON, offline: the API over the embedded log, no broker.

Expected values are read by hand off docs/examples/facts.jsonl: account A-1001 (person P-1, company
C-ACME) gave a site its barcode is not installed at (CALL-1001), the violation was confirmed on
2025-03-04 and the codes refused on 2025-03-06 15:00 +08:00, so the account and its number are
blacklisted for six months from then; the number's entry is lifted on 2025-04-01 09:00 +08:00.
R-1001 (CERT-FRAUD) requires a rectification plan of C-ACME, submitted 04-10, accepted 04-18.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from starlette.routing import Mount, Route

from access.roles import Role
from consumers.api import create_app, openapi_document
from consumers.api.embedded_source import EmbeddedSource, LogRecorder
from consumers.api.metrics import instrument
from consumers.api.openapi import DOCUMENTED
from domain.policy_history import as_history
from projections.projector import Projector
from schemas import facts as f
from storage.log import EmbeddedLog
from tests.unit.credentials import Credentials
from tests.unit.test_api_offline import CALL, POLICY, example_facts

ACCOUNT_ROW = {
    "subject_kind": "account",
    "subject": "A-1001",
    "since": "2025-03-06T07:00:00Z",
    "until": "2025-09-06T07:00:00Z",
    "rule": "BARCODE-MISMATCH",
    "violation_id": "barcode-mismatch:CALL-1001",
    "penalty_id": "barcode-mismatch:CALL-1001/account",
    "policy_version": "3.0",
    "account_id": "A-1001",
    "person_id": "P-1",
    "company_id": "C-ACME",
}


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    return Credentials(tmp_path_factory.mktemp("tokens"))


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("log") / "hotline.db"
    with EmbeddedLog(path) as log:
        assert log.append(example_facts()).appended == 26
    return path


@pytest.fixture(scope="module")
def source(log_path: Path) -> EmbeddedSource:
    return EmbeddedSource(log_path, as_history(POLICY))


@pytest.fixture(scope="module")
def client(source: EmbeddedSource, log_path: Path, creds: Credentials) -> Iterator[TestClient]:
    app = create_app(source, creds.store, LogRecorder(log_path))
    with TestClient(app, headers=creds.headers(Role.READER)) as c:
        assert source.wait_ready(10)
        yield c


def test_the_blacklist_as_of_a_time_with_who_is_behind_it_and_why(client: TestClient) -> None:
    view = client.get("/dashboard/view", params={"as_of": "2025-04-01"}).json()
    assert view["as_of"] == "2025-03-31T16:00:00Z"  # a date is midnight on the line's calendar
    assert view["facts"] == 26 and view["zone"] == "Asia/Shanghai"
    number_row = ACCOUNT_ROW | {
        "subject_kind": "number",
        "subject": "+8613800138000",
        "penalty_id": "barcode-mismatch:CALL-1001/number",
    }
    assert view["blacklist"] == [ACCOUNT_ROW, number_row]
    assert [(p["plan"]["id"], p["status"]) for p in view["plans"]] == [("R-1001/plan", "required")]
    assert view["tallies"] == [{"account_id": "A-1001", "revoked": ["CERT-STO-1001"], "all_revoked_at": None}]


def test_time_travel_moves_every_part_of_the_view(client: TestClient) -> None:
    lifted = client.get("/dashboard/view", params={"as_of": "2025-04-01T10:00"}).json()
    assert lifted["blacklist"] == [ACCOUNT_ROW]  # the number was lifted at 09:00
    submitted = client.get("/dashboard/view", params={"as_of": "2025-04-11"}).json()
    assert [p["status"] for p in submitted["plans"]] == ["submitted"]
    accepted = client.get("/dashboard/view", params={"as_of": "2025-04-19"}).json()
    assert accepted["plans"] == []  # an accepted plan needs no one's attention
    before = client.get("/dashboard/view", params={"as_of": "2025-03-01"}).json()
    assert before["blacklist"] == [] and before["tallies"] == []


def test_charts_count_violations_per_rule_per_month(client: TestClient) -> None:
    charts = client.get("/dashboard/charts", params={"as_of": "2025-04-01"}).json()
    assert charts["violations_per_month"] == [
        {"month": "2025-03", "rule": "BARCODE-MISMATCH", "count": 1},
        {"month": "2025-03", "rule": "CERT-FRAUD", "count": 1},
    ]
    sizes = charts["blacklist_size"]
    assert sizes[0] == {"at": "2025-03-06T07:00:00Z", "size": 2}  # from the first penalty on
    assert sizes[-1] == {"at": "2025-03-31T16:00:00Z", "size": 2}  # up to the as-of time
    assert max(s["size"] for s in sizes) == 2 and len(sizes) == 60


def test_the_page_is_open_and_the_data_need_a_reader(client: TestClient, creds: Credentials) -> None:
    page = client.get("/", headers={"authorization": ""})
    assert page.status_code == 200 and "<title>Hotline governance</title>" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/vendor/vega-lite.min.js", headers={"authorization": ""}).status_code == 200
    for path in ("/dashboard/view", "/dashboard/charts", "/dashboard/events"):
        assert client.get(path, headers={"authorization": ""}).status_code == 401
        assert client.get(path, headers=creds.router).status_code == 403
    assert client.get("/explain/account/A-1001").status_code == 403  # a reader may not ask why
    assert client.get("/explain/account/A-1001", headers=creds.headers(Role.AUDITOR)).status_code == 200


def test_the_page_loads_its_modules_under_a_policy_with_no_eval(client: TestClient) -> None:
    page = client.get("/", headers={"authorization": ""})
    policy = dict(p.strip().split(" ", 1) for p in page.headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'"  # no 'unsafe-eval': the charts interpret (static/charts.js)
    entry = re.findall(r'<script type="module" src="(/static/[^"]+)"', page.text)
    preloaded = set(re.findall(r'<link rel="modulepreload" href="(/static/[^"]+)"', page.text))
    seen: set[str] = set()
    todo = list(entry)
    while todo:  # the import graph, as the browser walks it: each file served as JavaScript
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = client.get(path, headers={"authorization": ""})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/javascript")
        todo += [
            f"/static/{name}" for name in re.findall(r'^import .* from "\./([^"]+)";$', answer.text, re.M)
        ]
    assert entry == ["/static/dashboard.js"] and seen - set(entry) == preloaded  # every module preloaded


def test_every_route_is_in_the_api_document_with_its_roles(creds: Credentials) -> None:
    """app.routes against the tables the OpenAPI document is made from, both ways (HEAD goes with GET)."""
    app = instrument(create_app(Projector(POLICY), creds.store), creds.store)
    served: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Mount):
            served.add((f"{route.path}/{{path}}", "GET"))  # StaticFiles: GET and HEAD
        else:
            assert isinstance(route, Route), route
            served |= {(route.path, method) for method in route.methods or () if method != "HEAD"}
    documented = {(e.path, method) for e in DOCUMENTED for method in e.methods}
    assert served == documented
    paths = openapi_document()["paths"]
    assert {
        (path, method.upper()) for path, operations in paths.items() for method in operations
    } == documented
    with TestClient(app) as anyone:  # no token: each protected route says 401, each open one answers
        for e in DOCUMENTED:
            url = re.sub(r"\{(\w+)\}", lambda m: "dashboard.js" if m[1] == "path" else "x", e.path)
            operation = paths[e.path]["get"]
            status = anyone.get(url).status_code
            if e.action is None:
                assert operation["security"] == [] and status != 401, (e.path, status)
            else:
                assert operation["security"] == [{"bearer": []}] and status == 401, (e.path, status)
                assert operation["description"].startswith("Roles: ") and "401" in operation["responses"]


def test_admission_is_answered_from_the_log_and_recorded_on_it(
    client: TestClient, source: EmbeddedSource, log_path: Path, creds: Credentials
) -> None:
    answer = client.get("/admission", params=CALL, headers=creds.router)
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["admitted"] is False  # A-1001 is blacklisted on 2025-03-20
    with EmbeddedLog(log_path) as log:
        assert [d.id for d in log.decisions()] == [decision["id"]]
        # model ST-9999 for an ST-5310: the refusal is a fact too, and its suspicion is served
        refused = log.stored_body(decision["id"])
        assert refused is not None and b"admission.refused" in refused
        expected = log.count()
    deadline = time.monotonic() + 10
    while source.applied < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    suspicion = f"barcode-mismatch:{decision['id']}"
    assert source.read(None, lambda state: state.pending[suspicion].status) == "open"
    # the audit page (auditor): the decision beside today's answer, the same here (nothing new known)
    audit = client.get("/dashboard/audit", headers=creds.headers(Role.AUDITOR)).json()
    assert [(a["decision_id"], a["admitted"], a["differs"]) for a in audit] == [
        (decision["id"], False, False)
    ]
    assert audit[0]["reasons"] == audit[0]["now_reasons"] == [r["code"] for r in decision["reasons"]]
    assert "account-blacklisted" in audit[0]["reasons"]
    earlier = {"as_of": "2025-03-19"}  # decisions made up to then: none (the call was on 03-20)
    assert client.get("/dashboard/audit", params=earlier, headers=creds.headers(Role.AUDITOR)).json() == []
    assert client.get("/dashboard/audit").status_code == 403  # a reader may not audit


def test_facts_appended_by_another_process_reach_the_served_projection(
    source: EmbeddedSource, log_path: Path, client: TestClient
) -> None:
    version = source.version
    with EmbeddedLog(log_path) as log:
        new = f.CompanyRegistered(
            id="crm-9001", at=datetime(2025, 5, 7, tzinfo=UTC), source="crm", company_id="C-NEW", name="New"
        )
        assert log.append([new]).appended == 1
        expected = log.count()  # the story, any refusal an admission added, and this one
    deadline = time.monotonic() + 10
    while source.applied < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert source.applied == expected and source.version > version
    assert client.get("/dashboard/view").json()["facts"] == expected


def test_serve_log_refuses_a_missing_log_and_kafka_options_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hotline.cli import app

    missing = CliRunner().invoke(app, ["serve", "--log", str(tmp_path / "nope.db")])
    assert missing.exit_code == 2 and "no such log" in missing.output
    (tmp_path / "there.db").touch()
    mixed = CliRunner().invoke(app, ["serve", "--log", str(tmp_path / "there.db"), "--state-dir", "x"])
    assert mixed.exit_code == 2 and "--state-dir" in mixed.output
    with EmbeddedLog(tmp_path / "empty.db"):
        pass
    env = {"HOTLINE_TOKENS": str(tmp_path / "no-tokens.db")}
    tokenless = CliRunner().invoke(app, ["serve", "--log", str(tmp_path / "empty.db")], env=env)
    assert tokenless.exit_code == 2 and "hotline tokens create" in tokenless.output


def test_an_answer_off_the_record_is_not_given(tmp_path: Path, creds: Credentials) -> None:
    projector = Projector(POLICY)
    projector.add(example_facts())
    app = create_app(projector, creds.store, LogRecorder(tmp_path))  # a directory: no log can be opened
    with TestClient(app, headers=creds.router) as c:
        answer = c.get("/admission", params=CALL)
    assert answer.status_code == 503 and "could not be recorded" in answer.json()["error"]
