"""An embedded log written before numbers were E.164 keeps working: its calls read in E.164, a re-send
in another spelling is a duplicate, an invalid number never stops it, and `check` and `explain` find
the caller under any spelling (RULES.md "One phone number, one subject")."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from consumers.embedded import Hotline
from hotline.cli import app
from producers.ingest import ingest_files
from projections.explain import explain
from schemas.codec import fact_to_json, from_msgpack
from schemas.derived import AdmissionDecision, CallRequest, RecordedCall
from storage.log import EmbeddedLog
from tests.unit.builders import POLICY, confirm, report, t, world
from tests.unit.test_phone import SPELLINGS, old_call

E164 = "+8613415323691"
AT = "2025-03-01T10:00"  # the penalty below runs three months from 1 February 10:00


CALLED = "2025-01-31T09:00"


def _insert_old(log: EmbeddedLog, fact_id: str, body: bytes) -> None:
    """A record as v1 wrote it: straight into the facts table, bytes and all."""
    at_us = int(t(CALLED).timestamp() * 1_000_000)
    log.db.execute(
        "INSERT INTO facts (id, type, at_us, body) VALUES (?, ?, ?, ?)",
        (fact_id, "call.received", at_us, body),
    )


def _old_log(path: Path, number: str = "+86 134 1532 3691") -> EmbeddedLog:
    """a1's call c1 stored by v1 with the number as written; then it is reported and confirmed as
    ACCOUNT-SHARED: account and number blacklisted for three months from 1 February 10:00."""
    log = EmbeddedLog(path)
    log.append(world(("a1", "a2")))
    body = old_call("c1", number, CALLED)
    assert msgspec.msgpack.decode(body)["v"] == 1
    _insert_old(log, "c1", body)
    log.append([report("R1", "ACCOUNT-SHARED", "2025-02-01T09:00", "a1", call_id="c1")])
    log.append([confirm("R1", "2025-02-01T10:00")])
    return log


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_an_old_log_refuses_every_spelling_through_the_embedded_check(tmp_path: Path, spelling: str) -> None:
    hotline = Hotline.of(_old_log(tmp_path / "old.db"), POLICY)
    asked = CallRequest(
        account_id="a2", number=spelling, barcode="BC1", stated_model="M1", stated_site="s1", at=t(AT)
    )
    decision = hotline.check(asked)
    assert [r.code for r in decision.reasons] == ["number-blacklisted"]
    assert decision.request.number == E164


def test_an_old_log_explains_the_number_under_any_spelling(tmp_path: Path) -> None:
    hotline = Hotline.of(_old_log(tmp_path / "old.db"), POLICY)
    state = hotline.state(t(AT))
    for spelling in SPELLINGS:
        found = explain(state, "number", spelling, t(AT))
        assert (found.subject, found.known, found.blacklisted) == (E164, True, True)


def test_a_resent_call_in_another_spelling_is_a_duplicate_of_the_old_record(tmp_path: Path) -> None:
    log = _old_log(tmp_path / "old.db")
    resent = tmp_path / "resend.jsonl"
    same = from_msgpack(old_call("c1", "+86 134 1532 3691", CALLED))
    resent.write_text(fact_to_json(same).decode().replace(E164, "0086 134 1532 3691") + "\n")
    report_ = ingest_files(log, [resent])
    assert (report_.appended, report_.duplicates, report_.rejected) == (0, 1, [])
    assert log.append([same]).duplicates == 1  # the log's own check agrees
    other = msgspec.structs.replace(same, problem="another problem")
    assert log.append([other]).conflicts == ["c1"]  # other content under the id is still a conflict


def test_an_invalid_number_in_an_old_log_is_an_anomaly_not_an_outage(tmp_path: Path) -> None:
    log = _old_log(tmp_path / "old.db")
    _insert_old(log, "c-bad", old_call("c-bad", "12345", CALLED))
    hotline = Hotline.of(log, POLICY)
    state = hotline.state()
    assert state.calls["c-bad"].number == "12345"
    assert [a.fact_id for a in state.anomalies] == ["c-bad"]
    digest, _ = hotline.replay_digest()
    assert digest == hotline.replay_digest()[0]


def test_an_old_decision_with_a_number_now_invalid_still_reads_for_the_audit(tmp_path: Path) -> None:
    log = _old_log(tmp_path / "old.db")
    asked = RecordedCall(account_id="a2", number="12345", barcode="BC1", stated_model="M1", stated_site="s1")
    log.record_decision(
        AdmissionDecision(
            id="adm-old",
            at=t(AT),
            policy_version="3.0",
            request=asked,
            admitted=True,
            reasons=(),
            known_up_to=1,
        )
    )
    (decision,) = log.decisions()
    assert decision.request.number == "12345"
    assert [r.decision.id for r in Hotline.of(log, POLICY).audit_decisions()] == ["adm-old"]


def test_the_cli_check_refuses_an_invalid_number_in_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "old.db")
    _old_log(Path(db)).close()
    common = ["--account", "a2", "--barcode", "BC1", "--model", "M1", "--site", "s1", "--log", db]
    result = CliRunner().invoke(app, ["check", "--number", "13415323691\n", *common])
    assert result.exit_code == 2
    assert "number" in result.output and "Traceback" not in result.output
    refused = CliRunner().invoke(
        app, ["check", "--number", "0086 134 1532 3691", "--at", AT, "--json", *common]
    )
    assert refused.exit_code == 0, refused.output
    answer = msgspec.json.decode(refused.output)
    assert [r["code"] for r in answer["reasons"]] == ["number-blacklisted"]
    assert answer["request"]["number"] == E164
