"""The API over a sealed line (docs/privacy.md): numbers asked in clear are matched on their
pseudonyms, answers show them in clear, and once the person is forgotten, as `[erased]`.

The story (RULES.md, ACCOUNT-SHARED): a1 (person P-1) calls from +86 134 1532 3691 on 31 January; the
report is confirmed on 1 February 10:00 (+08:00): a1 and the number are blacklisted until 1 May 10:00.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from access.roles import Role
from consumers.api import create_app
from consumers.api.reveal import Pseudonyms
from projections.projector import Projector
from schemas import facts as f
from storage.keystore import KeyStore
from tests.unit.builders import POLICY, account, call, confirm, report, world
from tests.unit.credentials import Credentials

E164 = "+8613415323691"
ASK = {"account": "a2", "number": "134 1532 3691", "barcode": "BC1", "model": "M1", "site": "s1"}


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "h.db.keys", create=True, threads=True)


@pytest.fixture
def client(keys: KeyStore, tmp_path: Path) -> Iterator[tuple[TestClient, Credentials]]:
    facts: list[f.Fact] = [
        account("a1", person="P-1") if isinstance(x, f.AccountOpened) and x.account_id == "a1" else x
        for x in world(("a1", "a2"))
    ]
    facts += [
        call("c1", "2025-01-31T09:00", "a1", number=E164),
        report("R1", "ACCOUNT-SHARED", "2025-02-01T09:00", "a1", call_id="c1"),
        confirm("R1", "2025-02-01T10:00"),
    ]
    projector = Projector(POLICY)
    projector.add(keys.seal_all(facts))
    creds = Credentials(tmp_path)
    with TestClient(create_app(projector, creds.store, sealed=Pseudonyms(keys))) as c:
        yield c, creds


def test_admission_is_matched_on_the_pseudonym_and_answered_in_clear(
    client: tuple[TestClient, Credentials],
) -> None:
    c, creds = client
    answer = c.get("/admission", params=ASK | {"at": "2025-03-01T10:00+08:00"}, headers=creds.router).json()
    assert [r["code"] for r in answer["reasons"]] == ["number-blacklisted"]
    assert answer["request"]["number"] == E164
    after = c.get("/admission", params=ASK | {"at": "2025-05-01T10:00+08:00"}, headers=creds.router).json()
    assert after["admitted"] is True  # three months from 1 February 10:00, and not a minute more


def test_a_number_looked_up_in_clear_is_found_and_shown_in_clear(
    client: tuple[TestClient, Credentials],
) -> None:
    c, creds = client
    found = c.get(
        "/blacklist/number/0086 134 1532 3691",
        params={"as_of": "2025-03-01T10:00+08:00"},
        headers=creds.headers(Role.READER),
    ).json()
    assert found["blacklisted"] is True and found["subject"] == E164
    (entry,) = found["entries"]
    assert (entry["penalty"]["subject"], entry["penalty"]["until"]) == (E164, "2025-05-01T02:00:00Z")


def test_a_forgotten_persons_number_is_erased_and_still_refused(
    client: tuple[TestClient, Credentials], keys: KeyStore
) -> None:
    c, creds = client
    keys.forget_person("P-1", by="dpo")
    reader = creds.headers(Role.READER)
    found = c.get("/blacklist/number/13415323691", params={"as_of": "2025-03-01T10:00+08:00"}, headers=reader)
    assert found.json()["blacklisted"] is True and found.json()["subject"] == "[erased]"
    assert E164 not in found.text
    # a2 now calls from it: still refused, and the number a2 gave is a2's own data from then on
    answer = c.get("/admission", params=ASK | {"at": "2025-03-01T10:00+08:00"}, headers=creds.router).json()
    assert [r["code"] for r in answer["reasons"]] == ["number-blacklisted"]
    assert answer["request"]["number"] == E164


def test_a_number_no_fact_carried_is_still_shown_in_the_answer(
    client: tuple[TestClient, Credentials],
) -> None:
    c, creds = client
    ask = ASK | {"number": "139 1234 5678", "at": "2025-03-01T10:00+08:00"}
    answer = c.get("/admission", params=ask, headers=creds.router).json()
    assert answer["admitted"] is True and answer["request"]["number"] == "+8613912345678"
