"""Issue 8: the Kafka processes (worker, query API) take an effective-dated policy history as the
embedded commands do, and judge each fact under the version in force at its time.

3.0 (the shipped pack): ACCOUNT-SHARED 3 months. 3.1 (made here), in force from 2025-06-01 00:00
+08:00: ACCOUNT-SHARED 6 months. R1 confirmed 2025-01-17 10:00 (+08:00): 3 months, to 2025-04-17 10:00.
R2 confirmed 2025-07-01 10:00: 6 months, to 2026-01-01 10:00 (under 3.0 alone it would end 2025-10-01).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

with warnings.catch_warnings():  # Starlette asks for httpx2 instead of httpx; the client works the same
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

import consumers.api
import consumers.worker
import consumers.worker.main as worker_main
from consumers.api import create_app
from consumers.replica import Replica
from consumers.worker.config import WorkerConfig
from consumers.worker.runtime import Runtime
from domain.policy import load_policy
from domain.policy_history import PolicyHistory
from hotline.cli import app
from projections.state import State
from schemas.codec import normalise

from .builders import NUMBER, POLICY, t, world
from .credentials import Credentials
from .policy_packs import SHIPPED, pack, pack_text
from .test_policy_history import shared

V31 = pack("3.1", "2025-06-01T00:00:00+08:00", ACCOUNT_SHARED=6)
HISTORY = PolicyHistory([POLICY, V31])


FACTS = [
    normalise(x)
    for x in world() + shared("R1", "c1", "2025-01-17T10:00") + shared("R2", "c2", "2025-07-01T10:00")
]


def assert_judged_by_the_history(state: State) -> None:
    early, late = state.penalties["R1/account"], state.penalties["R2/account"]
    assert (early.policy_version, early.until) == ("3.0", t("2025-04-17T10:00"))
    assert (late.policy_version, late.until) == (V31.version, t("2026-01-01T10:00"))


def test_the_worker_folds_under_the_history_and_resumes_under_it(tmp_path: Path) -> None:
    config = WorkerConfig(0, 1, servers="127.0.0.1:1", datadir=tmp_path, policy=HISTORY)
    runtime = Runtime(config, HISTORY)
    runtime.projector.add(FACTS)
    assert_judged_by_the_history(runtime.projector.state())
    assert runtime.policy == V31  # the latest version: what stamps a retraction
    assert_judged_by_the_history(Runtime(config, HISTORY).projector.state())  # a restart, same store


def test_main_worker_hands_the_history_or_one_pack_to_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[WorkerConfig] = []
    monkeypatch.setattr(worker_main, "run", lambda config, loglevel="warning": seen.append(config))
    worker_main.main_worker(0, 1, "127.0.0.1:1", datadir=tmp_path, policy=HISTORY)
    pack_file = tmp_path / "3.0.toml"
    pack_file.write_text(SHIPPED, encoding="utf-8")
    worker_main.main_worker(0, 1, "127.0.0.1:1", datadir=tmp_path, policy_path=pack_file)
    worker_main.main_worker(0, 1, "127.0.0.1:1", datadir=tmp_path)
    assert [c.policy for c in seen] == [
        HISTORY,
        PolicyHistory([load_policy(pack_file)]),
        PolicyHistory([POLICY]),
    ]
    with pytest.raises(worker_main.WorkerError, match="cannot load the policy"):
        worker_main.main_worker(0, 1, "127.0.0.1:1", datadir=tmp_path, policy_path=tmp_path / "missing.toml")


@pytest.fixture
def packs(tmp_path: Path) -> list[str]:
    (tmp_path / "3.0.toml").write_text(SHIPPED, encoding="utf-8")
    (tmp_path / "3.1.toml").write_text(pack_text("3.1", "2025-06-01T00:00:00+08:00", ACCOUNT_SHARED=6))
    return [str(tmp_path / "3.0.toml"), str(tmp_path / "3.1.toml")]


def test_the_worker_and_serve_commands_take_two_packs_or_their_directory(
    packs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[PolicyHistory] = []
    monkeypatch.setattr(consumers.worker, "main_worker", lambda *a, **kw: taken.append(kw["policy"]))
    monkeypatch.setattr(consumers.api, "main_serve", lambda *a, **kw: taken.append(kw["policy"]))
    runner = CliRunner()
    for args in (
        ["worker", "--policy", packs[0], "--policy", packs[1]],
        ["worker", "--policy", str(Path(packs[0]).parent)],
        ["serve", "--policy", packs[0], "--policy", packs[1]],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert taken == [HISTORY, HISTORY, HISTORY]
    assert [p.version for p in taken[0].versions] == ["3.0", V31.version]


def test_the_api_answers_admission_under_the_version_in_force_at_the_call(tmp_path: Path) -> None:
    creds = Credentials(tmp_path)
    replica = Replica.from_facts(FACTS, HISTORY)
    assert_judged_by_the_history(replica.read(None, lambda state: state))
    params = {"account": "a1", "number": NUMBER, "barcode": "BC1", "model": "M1", "site": "s1"}
    with TestClient(create_app(replica, creds.store), headers=creds.router) as client:

        def answer(at: str) -> tuple[str, list[str]]:
            body = client.get("/admission", params={**params, "at": at}).json()
            return body["policy_version"], [r["code"] for r in body["reasons"]]

        assert answer("2025-05-01T10:00") == ("3.0", [])  # R1's 3 months ended 2025-04-17
        # R2 under 3.1: blacklisted to 2026-01-01 (under 3.0 alone, free from 2025-10-01)
        assert answer("2025-12-15T10:00") == (V31.version, ["account-blacklisted", "number-blacklisted"])


def test_a_kafka_replica_keeps_the_history_with_its_store(tmp_path: Path) -> None:
    replica = Replica.from_kafka("127.0.0.1:1", "ns", HISTORY, tmp_path)
    assert (replica.history, replica.projector.history, replica.policy) == (HISTORY, HISTORY, V31)
    assert replica.policy_at(t("2025-05-31T23:59")) == POLICY
    assert replica.policy_at(t("2025-06-01T00:00")) == V31
