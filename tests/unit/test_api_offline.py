"""The query API without a broker: create_app over a filled Projector, through Starlette's TestClient.

Every answer is compared with the pure core called in-process on the same facts (admit_call on
project(), explain, the embedded digest), so the API adds transport and validation, never rules.
"""

from __future__ import annotations

import json
import random
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest
from jsonschema import Draft202012Validator

with warnings.catch_warnings():  # Starlette asks for httpx2 instead of httpx; the client works the same
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from access.roles import Role
from consumers.api import create_app, openapi_document
from consumers.replica import Replica
from domain.admission import admit_call
from domain.policy import load_policy
from producers.synthetic import generate
from producers.validate import parse_lines
from projections.explain import explain
from projections.fold import project
from projections.projector import Projector
from projections.view import digest, snapshot
from schemas import facts as f
from schemas.derived import AdmissionDecision, CallRequest
from storage.log import EmbeddedLog
from tests.unit.credentials import Credentials

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "facts.jsonl"
POLICY = load_policy()
CALL = {
    "account": "A-1001",
    "number": "13912345678",
    "barcode": "210235A1B2C3",
    "model": "ST-9999",
    "site": "SITE-77-SH-01",
    "at": "2025-03-20T10:00:00+08:00",
}


def example_facts() -> list[f.Fact]:
    parsed, rejected = parse_lines(EXAMPLES.read_bytes().splitlines(), str(EXAMPLES))
    assert not rejected
    return [fact for _, fact in parsed]


@pytest.fixture(scope="module")
def facts() -> list[f.Fact]:
    return example_facts()


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    return Credentials(tmp_path_factory.mktemp("tokens"))


@pytest.fixture(scope="module")
def client(facts: list[f.Fact], creds: Credentials) -> Iterator[TestClient]:
    """An auditor's client (reads and explains); admission calls send the router's token."""
    projector = Projector(POLICY)
    projector.add(facts)
    with TestClient(create_app(projector, creds.store), headers=creds.headers(Role.AUDITOR)) as c:
        yield c


def embedded_digest(tmp_path: Path, facts: Sequence[f.Fact], as_of: datetime | None) -> str:
    """What `hotline replay [--as-of]` prints for these facts on the embedded log."""
    from consumers.embedded import Hotline

    with EmbeddedLog(tmp_path / f"embedded-{as_of}.db") as log:
        log.append(facts)
        return Hotline.of(log, POLICY).replay_digest(as_of)[0]


def request_of(call: dict[str, str]) -> CallRequest:
    return CallRequest(
        account_id=call["account"],
        number=call["number"],
        barcode=call["barcode"],
        stated_model=call["model"],
        stated_site=call["site"],
    )


# --- admission ------------------------------------------------------------------------------------
def test_admission_answers_every_reason_as_admit_call(
    client: TestClient, facts: list[f.Fact], creds: Credentials
) -> None:
    answer = client.get("/admission", params=CALL, headers=creds.router)
    assert answer.status_code == 200
    body = answer.json()
    at = datetime.fromisoformat(CALL["at"])
    expected = admit_call(project(facts, POLICY, at), request_of(CALL), at, POLICY)
    assert [(r["code"], r["detail"]) for r in body["reasons"]] == [(r.code, r.detail) for r in expected]
    assert body["reasons"] == [
        {
            "code": "account-blacklisted",
            "detail": "account A-1001 is blacklisted until 2025-09-06 07:00:00+00:00 "
            "(barcode-mismatch:CALL-1001/account)",
        },
        {"code": "barcode-mismatch", "detail": "model 'ST-9999' but installed 'ST-5310'"},
    ]
    assert body["admitted"] is False
    assert body["at"] == "2025-03-20T02:00:00Z"
    assert body["known_up_to"] == len(facts)
    assert body["type"] == "admission.decided" and body["id"].startswith("adm-")


@pytest.mark.parametrize(
    ("at", "codes"),
    [
        ("2025-02-01", []),  # a date is midnight on the policy calendar
        ("2025-06-01T10:00", ["account-blacklisted", "no-certificate"]),  # no offset: policy calendar
        ("2025-10-01T02:00:00Z", ["no-certificate"]),
    ],
)
def test_admission_over_time(client: TestClient, creds: Credentials, at: str, codes: list[str]) -> None:
    body = client.get(
        "/admission", params={**CALL, "model": "ST-5310", "at": at}, headers=creds.router
    ).json()
    assert [r["code"] for r in body["reasons"]] == codes
    assert body["admitted"] is (not codes)


def test_post_admission_takes_a_call_request_body(client: TestClient, creds: Credentials) -> None:
    payload = {
        "account_id": "A-1001",
        "number": "13912345678",
        "barcode": "210235A1B2C3",
        "stated_model": "ST-9999",
        "stated_site": "SITE-77-SH-01",
        "at": "2025-03-20T10:00",  # offset-less: policy calendar, as the query parameter
    }
    posted = client.post("/admission", json=payload, headers=creds.router).json()
    got = client.get("/admission", params=CALL, headers=creds.router).json()
    assert posted["reasons"] == got["reasons"] and posted["at"] == got["at"]


def test_recorder_receives_each_decision(facts: list[f.Fact], creds: Credentials) -> None:
    recorded: list[AdmissionDecision] = []
    with TestClient(
        create_app(Replica.from_facts(facts, POLICY), creds.store, recorder=recorded.append)
    ) as c:
        body = c.get("/admission", params=CALL, headers=creds.router).json()
    assert [d.id for d in recorded] == [body["id"]]
    assert recorded[0].request.account_id == "A-1001" and recorded[0].known_up_to == len(facts)


def _refuse(decision: AdmissionDecision) -> bool:
    return False  # the brokers did not acknowledge in time


def _fail(decision: AdmissionDecision) -> None:
    raise ConnectionError("no broker")


@pytest.mark.parametrize(
    ("recorder", "recorded"), [(None, False), (_refuse, False), (_fail, False), (lambda d: None, True)]
)
def test_the_answer_says_whether_it_is_on_the_record(
    facts: list[f.Fact], creds: Credentials, recorder: Any, recorded: bool
) -> None:
    """RULES.md: what the line did stays what it did. An answer the record does not hold says so."""
    with TestClient(create_app(Replica.from_facts(facts, POLICY), creds.store, recorder=recorder)) as c:
        answer = c.get("/admission", params=CALL, headers=creds.router)
    assert answer.status_code == 200
    assert answer.json()["recorded"] is recorded


# --- bad parameters -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "parameter", "reason"),
    [
        ("/admission?" + urlencode({**CALL, "at": "yesterday"}), "at", "'yesterday' is not a date or time"),
        ("/admission?" + urlencode({k: v for k, v in CALL.items() if k != "account"}), "account", "required"),
        ("/admission?" + urlencode({**CALL, "acount": "A-1"}), "acount", "unknown parameter"),
        ("/admission?" + urlencode({**CALL, "number": "call me"}), "number", "matching regex"),
        ("/admission?" + urlencode({**CALL, "channel": "fax"}), "channel", "'partner' or 'customer'"),
        ("/blacklist?as_of=2025-13-01", "as_of", "is not a date or time"),
        ("/blacklist?kind=person", "kind", "'account', 'number' or 'company'"),
        ("/blacklist?all=perhaps", "all", "valid boolean"),
        ("/blacklist/person/P-1", "kind", "'account', 'number' or 'company'"),
        ("/explain/device/X", "kind", "'account', 'number' or 'company'"),
        ("/companies/C-ACME/counters?as_of=soon", "as_of", "is not a date or time"),
        ("/digest?as_of=31/12/2025", "as_of", "is not a date or time"),
    ],
)
def test_bad_parameters_get_a_400_naming_the_parameter(
    client: TestClient, creds: Credentials, url: str, parameter: str, reason: str
) -> None:
    answer = client.get(url, headers=creds.router if url.startswith("/admission") else None)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["status"] == 400 and parameter in body["error"]
    assert any(p["parameter"] == parameter and reason in p["reason"] for p in body["problems"]), body
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    ("body", "parameter", "reason"),
    [
        (b"{not json", "body", "not valid JSON"),
        (b"[1, 2]", "body", "expected a JSON object"),
        (b'{"account_id": "A-1001"}', "number", "required"),
        (
            b'{"account_id": 7, "number": "139", "barcode": "b", "stated_model": "m", "stated_site": "s"}',
            "account_id",
            "Expected `str`, got `int`",
        ),
        (
            b'{"account_id": "A", "number": "139", "barcode": "b", "stated_model": "m", "stated_site": "s", '
            b'"at": "tomorrow"}',
            "at",
            "'tomorrow' is not a date or time",
        ),
    ],
)
def test_bad_post_bodies_get_a_400(
    client: TestClient, creds: Credentials, body: bytes, parameter: str, reason: str
) -> None:
    answer = client.post(
        "/admission", content=body, headers=creds.headers(Role.ROUTER, **{"content-type": "application/json"})
    )
    assert answer.status_code == 400, answer.text
    problems = answer.json()["problems"]
    assert problems[0]["parameter"] == parameter and reason in problems[0]["reason"], problems


def test_unknown_routes_and_subjects(client: TestClient) -> None:
    assert client.get("/nowhere").json() == {"status": 404, "error": "Not Found", "problems": []}
    assert client.delete("/admission").status_code == 405
    missing = client.get("/companies/C-NONE/counters")
    assert missing.status_code == 404 and "no company C-NONE" in missing.json()["error"]
    assert client.get("/accounts/A-NONE/certificates").status_code == 404


# --- blacklist, counters, certificates, explain ---------------------------------------------------
def test_blacklist_as_of_and_current(client: TestClient) -> None:
    then = client.get("/blacklist", params={"as_of": "2025-03-20"}).json()
    assert then["as_of"] == "2025-03-19T16:00:00Z"
    assert {
        (e["penalty"]["subject_kind"], e["penalty"]["subject"], e["status"]) for e in then["entries"]
    } == {
        ("account", "A-1001", "in force"),
        ("number", "+8613800138000", "in force"),  # E.164: RULES.md, one phone number one subject
    }
    # Now (long after): the account's 6 months ran out and the number was lifted: nothing in force.
    assert client.get("/blacklist").json()["entries"] == []
    statuses = {e["penalty"]["id"]: e["status"] for e in client.get("/blacklist?all=true").json()["entries"]}
    assert statuses == {
        "barcode-mismatch:CALL-1001/account": "expired",
        "barcode-mismatch:CALL-1001/number": "lifted",
    }
    only_numbers = client.get("/blacklist", params={"as_of": "2025-03-20", "kind": "number"}).json()
    assert [e["penalty"]["subject"] for e in only_numbers["entries"]] == ["+8613800138000"]


def test_blacklist_of_one_subject(client: TestClient) -> None:
    number = client.get("/blacklist/number/13800138000", params={"as_of": "2025-04-02"}).json()
    assert number["blacklisted"] is False
    assert [e["status"] for e in number["entries"]] == ["lifted"]
    account = client.get("/blacklist/account/A-1001", params={"as_of": "2025-04-02"}).json()
    assert account["blacklisted"] is True
    assert account["entries"][0]["penalty"]["until"] == "2025-09-06T07:00:00Z"
    before = client.get("/blacklist/account/A-1001", params={"as_of": "2025-03-01"}).json()
    assert before == {"kind": "account", "subject": "A-1001", "as_of": "2025-02-28T16:00:00Z",
                      "blacklisted": False, "entries": []}  # fmt: skip


def test_company_counters_and_certificate_tally(client: TestClient) -> None:
    counters = client.get("/companies/C-ACME/counters", params={"as_of": "2025-04-01"}).json()
    assert {c["counter"]: c["violation_ids"] for c in counters["counters"]} == {
        "BARCODE-MISMATCH": ["barcode-mismatch:CALL-1001"],
        "BLACK-KEY-EVENT": ["R-1001"],
    }
    later = client.get("/companies/C-ACME/counters", params={"as_of": "2026-04-01"}).json()
    assert {c["counter"]: c["in_rolling_year"] for c in later["counters"]} == {
        "BARCODE-MISMATCH": 0,
        "BLACK-KEY-EVENT": 0,
    }
    tally = client.get("/accounts/A-1001/certificates", params={"as_of": "2025-04-01"}).json()
    assert [r["certificate_id"] for r in tally["revoked"]] == ["CERT-STO-1001"]
    assert tally["permanent"] is None
    assert client.get("/accounts/A-1001/certificates", params={"as_of": "2025-03-01"}).json()["revoked"] == []


def test_explain_is_the_core_explanation(client: TestClient, facts: list[f.Fact]) -> None:
    at = datetime(2025, 3, 31, 16, tzinfo=UTC)
    body = client.get("/explain/account/A-1001", params={"as_of": "2025-04-01"}).json()
    expected = explain(project(facts, POLICY, at), "account", "A-1001", at)
    assert body == json.loads(msgspec.json.encode(expected))
    assert {link["kind"] for link in body["chain"]} >= {"violation", "penalty", "revocation"}
    assert client.get("/explain/number/13800138000").json()["known"] is True


# --- digest ---------------------------------------------------------------------------------------
def test_digest_equals_the_embedded_replay(client: TestClient, facts: list[f.Fact], tmp_path: Path) -> None:
    for text, as_of in (
        ("2025-12-31", datetime(2025, 12, 30, 16, tzinfo=UTC)),
        ("2025-03-04", datetime(2025, 3, 3, 16, tzinfo=UTC)),
    ):
        body = client.get("/digest", params={"as_of": text}).json()
        assert body["digest"] == embedded_digest(tmp_path, facts, as_of)
    assert client.get("/digest").json()["digest"] == embedded_digest(tmp_path, facts, None)


def test_live_replica_answers_exactly_at_any_time_in_any_order(tmp_path: Path, creds: Credentials) -> None:
    """Queries after the last fact fire the deadlines due by then (a 7-day codes deadline with no fact
    after it); earlier queries fold. In any order, each answer equals project() at its time."""
    stream = generate(seed=5, companies=40, engineers=400, months=3)
    unanswered = [r for r in project(stream, POLICY).codes_requests.values() if r.result == "deadline passed"]
    cut = min(r.at for r in unanswered) + timedelta(hours=1)  # codes requested, the deadline still ahead
    facts = [fact for fact in stream if fact.at <= cut]
    replica = Replica.from_facts(facts, POLICY)
    state_now = project(facts, POLICY, cut)
    assert any(r.deadline > cut for r in state_now.codes_requests.values()), "the scenario needs a deadline"
    rng = random.Random(1)
    times = [cut + timedelta(days=d) for d in (0, 3, 9, 30, 200)] + [cut - timedelta(days=20)]
    rng.shuffle(times)
    accounts = sorted(state_now.accounts)
    devices = sorted(state_now.devices.items())
    with TestClient(create_app(replica, creds.store), headers=creds.headers(Role.READER)) as c:
        for t in times:
            expected_state = project(facts, POLICY, t)
            assert c.get("/digest", params={"as_of": t.isoformat()}).json()["digest"] == digest(
                snapshot(expected_state, t)
            )
            for _ in range(30):
                barcode, dev = rng.choice(devices)
                call = {
                    "account": rng.choice(accounts),
                    "number": f"139{rng.randrange(10**8):08d}",
                    "barcode": barcode,
                    "model": dev.product_model,
                    "site": dev.site_id,
                    "at": t.isoformat(),
                }
                got = c.get("/admission", params=call, headers=creds.router).json()["reasons"]
                want = admit_call(expected_state, request_of(call), t, POLICY)
                assert [(r["code"], r["detail"]) for r in got] == [(r.code, r.detail) for r in want]
    # New facts after the questions still land: a late one (before the fired deadlines) rebuilds.
    late = [fact for fact in stream if cut < fact.at][:500]
    replica.add(late)
    everything = facts + late
    t = max(fact.at for fact in everything) + timedelta(days=1)
    with TestClient(create_app(replica, creds.store), headers=creds.headers(Role.READER)) as c:
        assert c.get("/digest", params={"as_of": t.isoformat()}).json()["digest"] == embedded_digest(
            tmp_path, everything, t
        )


# --- operations -----------------------------------------------------------------------------------
class _BlockedFeed:
    """A facts topic that never finishes draining: the replica stays not ready."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def drain(self) -> Iterator[list[f.Fact]]:
        self.release.wait(10)
        return iter(())

    def poll(self, timeout_ms: int = 200) -> list[f.Fact]:
        self.release.wait(timeout_ms / 1000)
        return []

    def positions(self) -> dict[int, int]:
        return {0: 0}

    def lag(self) -> dict[int, int]:
        return {0: 0}

    def close(self) -> None:
        pass


class _LaggingFeed(_BlockedFeed):
    """Drained, then 5,000 records behind on partition 2, then the broker goes away."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__(release)
        self.looks = 0

    def lag(self) -> dict[int, int]:
        self.looks += 1
        if self.looks > 2:
            raise ConnectionError("broker gone")
        return {0: 0, 1: 0, 2: 5000, 3: 0}


def test_health_and_readiness(creds: Credentials) -> None:
    release = threading.Event()
    replica = Replica(POLICY, feed=lambda: _BlockedFeed(release))
    with TestClient(create_app(replica, creds.store), headers=creds.headers(Role.READER)) as c:
        assert c.get("/health").json() == {"status": "up"}
        ready = c.get("/ready")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        waiting = c.get("/admission", params=CALL, headers=creds.router)
        assert waiting.status_code == 503 and "not ready" in waiting.json()["error"]
        release.set()
        assert replica.wait_ready(5)
        assert c.get("/ready").status_code == 200
        assert (
            c.get("/admission", params=CALL, headers=creds.router).json()["reasons"][0]["code"]
            == "unknown-account"
        )


def test_openapi_document_is_served_saved_and_valid(client: TestClient) -> None:
    served = client.get("/openapi.json").json()
    assert served == openapi_document()
    saved = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert saved == served, "docs/openapi.json is stale: run `python -m consumers.api openapi`"
    assert served["openapi"].startswith("3.1")
    schemas = served["components"]["schemas"]
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    refs = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"].rsplit("/", 1)[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(served)
    assert refs <= set(schemas)
    assert {"/admission", "/blacklist", "/ready", "/health", "/explain/{kind}/{subject}"} <= set(
        served["paths"]
    )


def test_ready_reflects_the_lag_and_the_broker(creds: Credentials) -> None:
    release = threading.Event()
    release.set()
    feed = _LaggingFeed(release)
    replica = Replica(POLICY, feed=lambda: feed)
    with TestClient(create_app(replica, creds.store), headers=creds.headers(Role.READER)) as c:
        assert replica.wait_ready(5)
        deadline = time.monotonic() + 5
        while not replica.lag and time.monotonic() < deadline:
            time.sleep(0.01)
        behind = c.get("/ready")
        assert behind.status_code == 503
        assert behind.json()["lag"] == {"0": 0, "1": 0, "2": 5000, "3": 0}
        while replica.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        gone = c.get("/ready")
        assert gone.status_code == 503 and gone.json()["error"] == "ConnectionError: broker gone"
        status = c.get("/status")
        assert status.status_code == 200 and status.json()["refolding"] is False


def test_status_counts_what_was_done_without_a_refold(creds: Credentials) -> None:
    """Only a2 called after R1 (tests/unit/test_projector.py's history): annulling R1 is voided in
    place, with no refold; no fact came late and the replica has no warm reaches."""
    from schemas.codec import normalise
    from tests.unit.builders import annul
    from tests.unit.test_projector import history

    replica = Replica(POLICY, feed=lambda: _BlockedFeed(threading.Event()))
    replica.add(history())
    replica.add([normalise(annul("R1", "2025-04-09T10:00", id="annul-R1"))])
    with TestClient(create_app(replica, creds.store), headers=creds.headers(Role.READER)) as c:
        status = c.get("/status").json()
    assert (status["annulments_voided"], status["late_applied"], status["warm_checkpoints"]) == (1, 0, 0)
    assert status["refolds"] == 0
