"""Tokens and roles on the query API and the HTTP ingest endpoint, without a broker.

The expected outcomes are written by hand from the roles of issue 7 / docs/security.md, never read
from access.roles: a change to who may do what has to change this table too.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from access.roles import Role
from consumers.api import create_app
from consumers.api.routing import ENDPOINTS
from consumers.replica import Replica
from producers.http_ingest import ingest_app
from producers.kafka_producer import PublishReport
from schemas import facts as f
from schemas.derived import AdmissionDecision
from tests.unit.credentials import Credentials
from tests.unit.test_api_offline import CALL, POLICY, example_facts

READERS = {Role.READER, Role.AUDITOR, Role.STAFF}
#: (method, url, the roles that may call it); every other role gets 403
TABLE: list[tuple[str, str, set[Role]]] = [
    ("GET", "/admission?account=A-1001&number=13912345678&barcode=210235A1B2C3&model=ST-5310&site=S",
     {Role.ROUTER}),
    ("POST", "/admission", {Role.ROUTER}),
    ("GET", "/blacklist", READERS),
    ("GET", "/blacklist/account/A-1001", READERS),
    ("GET", "/companies/C-ACME/counters", READERS),
    ("GET", "/accounts/A-1001/certificates", READERS),
    ("GET", "/explain/account/A-1001", {Role.AUDITOR, Role.STAFF}),
    ("GET", "/digest", READERS),
    ("GET", "/status", READERS),
]  # fmt: skip
POST_BODY = {k: CALL[k] for k in ("number", "barcode")} | {
    "account_id": "A-1001",
    "stated_model": "ST-5310",
    "stated_site": "S",
}


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    return Credentials(tmp_path_factory.mktemp("tokens"))


@pytest.fixture(scope="module")
def recorded() -> list[AdmissionDecision]:
    return []


@pytest.fixture(scope="module")
def api(creds: Credentials, recorded: list[AdmissionDecision]) -> Iterator[TestClient]:
    replica = Replica.from_facts(example_facts(), POLICY)
    with TestClient(create_app(replica, creds.store, recorder=recorded.append)) as c:
        yield c


def test_the_table_covers_every_protected_route() -> None:
    protected = {e.path for e in ENDPOINTS if e.action is not None}
    assert {url.split("?")[0] for _, url, _ in TABLE} | {"/blacklist/{kind}/{subject}"} >= protected - {
        "/companies/{company_id}/counters",
        "/accounts/{account_id}/certificates",
        "/explain/{kind}/{subject}",
    }
    assert {e.path for e in ENDPOINTS if e.action is None} == {"/health", "/ready", "/openapi.json"}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "url", "allowed"), TABLE)
def test_each_role_on_each_endpoint(
    api: TestClient, creds: Credentials, role: Role, method: str, url: str, allowed: set[Role]
) -> None:
    body = POST_BODY if method == "POST" else None
    answer = api.request(method, url, json=body, headers=creds.headers(role))
    if role in allowed:
        assert answer.status_code == 200, answer.text
    else:
        assert answer.status_code == 403, answer.text
        assert answer.json()["status"] == 403 and f"role {role.value} may not" in answer.json()["error"]


@pytest.mark.parametrize(("method", "url", "_"), TABLE)
def test_no_token_or_a_bad_one_is_401(api: TestClient, method: str, url: str, _: set[Role]) -> None:
    for headers in ({}, {"authorization": "Bearer hlt_not-a-token"}, {"authorization": "Basic dXNlcjpwdw=="}):
        answer = api.request(method, url, json=POST_BODY if method == "POST" else None, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["status"] == 401 and answer.json()["error"]


def test_a_revoked_token_is_401_from_the_next_request(api: TestClient, creds: Credentials) -> None:
    record, token = creds.store.create(Role.READER, "to revoke")
    bearer = {"authorization": f"Bearer {token}"}
    assert api.get("/blacklist", headers=bearer).status_code == 200
    creds.store.revoke(record.id)
    answer = api.get("/blacklist", headers=bearer)
    assert answer.status_code == 401 and answer.json()["error"] == "unknown or revoked token"


def test_health_ready_and_the_document_stay_open(api: TestClient) -> None:
    assert api.get("/health").json() == {"status": "up"}
    assert api.get("/ready").status_code == 200
    assert api.get("/openapi.json").json()["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_routers_decisions_are_recorded_and_a_reader_cannot_ask(
    api: TestClient, creds: Credentials, recorded: list[AdmissionDecision]
) -> None:
    before = len(recorded)
    refused = api.get("/admission", params=CALL, headers=creds.headers(Role.READER))
    assert refused.status_code == 403 and len(recorded) == before
    answer = api.get("/admission", params=CALL, headers=creds.router)
    assert answer.status_code == 200
    assert [d.id for d in recorded[before:]] == [answer.json()["id"]]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_post_that_is_not_json_is_415(
    api: TestClient, creds: Credentials, content_type: str | None
) -> None:
    headers = creds.router | ({"content-type": content_type} if content_type else {})
    answer = api.post("/admission", content=b'{"account_id": "A-1001"}', headers=headers)
    assert answer.status_code == 415, answer.text
    assert "application/json" in answer.json()["error"]


def test_no_cors_headers(api: TestClient, creds: Credentials) -> None:
    origin = {"origin": "https://evil.example"}
    preflight = api.options("/admission", headers=origin | {"access-control-request-method": "POST"})
    got = api.get("/blacklist", headers=creds.headers(Role.READER) | origin)
    for answer in (preflight, got):
        assert not [h for h in answer.headers if h.lower().startswith("access-control-")]


def _asgi_post(app: Any, path: str, headers: dict[str, str], chunks: int, size: int) -> tuple[int, int]:
    """POST `chunks` chunks of `size` bytes (no Content-Length); returns (status, chunks read)."""
    import asyncio

    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b"x" * size, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], read


def test_an_oversized_admission_body_is_413_without_reading_it(creds: Credentials) -> None:
    app = create_app(Replica.from_facts([], POLICY), creds.store)
    headers = creds.router | {"content-type": "application/json"}
    # 100 MB in 64 KiB chunks, undeclared: refused after the limit (64 KiB), not after 100 MB
    status, read = _asgi_post(app, "/admission", headers, chunks=1600, size=64 << 10)
    assert (status, read) == (413, 2)
    declared = TestClient(app).post(
        "/admission", content=b"{}", headers=headers | {"content-length": str(100 << 20)}
    )
    assert declared.status_code == 413


# --- the ingest endpoint ------------------------------------------------------------------------
class _Publisher:
    """Records what the endpoint asks of the real FactPublisher (tests/kafka check the real one)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, frozenset[type[f.Fact]] | None, str]] = []

    def publish_sources(self, sources: Any, allowed: Any = None, sender: str = "") -> PublishReport:
        self.calls.append((len(sources[0].lines), allowed, sender))
        return PublishReport()


@pytest.fixture
def ingest(creds: Credentials) -> Iterator[tuple[TestClient, _Publisher]]:
    publisher = _Publisher()
    with TestClient(ingest_app(publisher, creds.store, max_body=1000)) as c:  # type: ignore[arg-type]
        yield c, publisher


LINES = b'{"type": "company.registered"}\n{"type": "penalty.lifted"}'
NDJSON = {"content-type": "application/x-ndjson"}


def test_ingest_needs_a_producer_or_staff_token(
    ingest: tuple[TestClient, _Publisher], creds: Credentials
) -> None:
    client, publisher = ingest
    assert client.post("/facts", content=LINES, headers=NDJSON).status_code == 401
    for role in (Role.ROUTER, Role.READER, Role.AUDITOR):
        answer = client.post("/facts", content=LINES, headers=creds.headers(role, **NDJSON))
        assert answer.status_code == 403 and "may not post facts" in answer.json()["error"]
    assert publisher.calls == []
    for role in (Role.PRODUCER_CRM, Role.PRODUCER_CALLCENTRE, Role.STAFF):
        assert client.post("/facts", content=LINES, headers=creds.headers(role, **NDJSON)).status_code == 202
    crm, callcentre, staff = (allowed for _, allowed, _ in publisher.calls)
    assert {t.__struct_config__.tag for t in crm or ()} == {  # type: ignore[attr-defined]
        "company.registered", "rating.issued", "account.opened", "certificate.granted",
        "certificate.exam", "device.installed", "maintenance.agreed", "customer.assigned",
    }  # fmt: skip
    assert f.PenaltyLifted not in (callcentre or ()) and f.PenaltyLifted in (staff or ())
    assert [sender for _, _, sender in publisher.calls] == [
        "a producer:crm token",
        "a producer:callcentre token",
        "a staff token",
    ]


def test_ingest_refuses_text_plain_and_oversized_bodies(
    ingest: tuple[TestClient, _Publisher], creds: Credentials
) -> None:
    client, publisher = ingest
    crm = creds.headers(Role.PRODUCER_CRM)
    plain = client.post("/facts", content=LINES, headers=crm | {"content-type": "text/plain"})
    assert plain.status_code == 415 and set(plain.json()) >= {"error"}
    big = client.post("/facts", content=b" " * 1001, headers=crm | NDJSON)
    assert big.status_code == 413
    assert (
        client.post("/facts", content=LINES, headers=crm | {"content-type": "application/json"}).status_code
        == 202
    )
    assert len(publisher.calls) == 1


def test_the_servers_refuse_to_start_without_a_usable_token(tmp_path: Path) -> None:
    from consumers.api.serve import main_serve
    from producers.http_ingest import main_ingest_server

    missing = tmp_path / "none.db"
    revoked = Credentials(tmp_path)
    for record in revoked.store.records():
        revoked.store.revoke(record.id)
    for path in (missing, revoked.store.path):
        for start in (main_serve, main_ingest_server):
            with pytest.raises(SystemExit) as exited:
                start("127.0.0.1", 0, "127.0.0.1:1", None, tokens_path=path)  # type: ignore[operator]
            message = str(exited.value.code)
            assert message.startswith("error: ") and "\n" not in message
            assert "hotline tokens create --role" in message
    assert not missing.exists()  # a server never makes an empty store


def test_a_json_array_nested_past_the_limit_is_one_clear_400(
    ingest: tuple[TestClient, _Publisher], creds: Credentials
) -> None:
    """Found by bench/hostile.py: the array was decoded before any depth check, and a deep one was a
    500 with a stack trace (RecursionError)."""
    client, publisher = ingest
    headers = creds.headers(Role.STAFF, **{"content-type": "application/json"})
    answer = client.post("/facts", content=b"[" * 900, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"] == "the body nests deeper than 64 levels: send flatter facts"
    assert publisher.calls == []
