"""`hotline check` on a barcode mismatch: the refusal is recorded and raises the BARCODE-MISMATCH
suspicion (RULES.md "Suspicion and confirmation"), with no call fact at all; `--dry-run` raises none.

By hand: device BC-1 is model ST-1 at site S-1; A-1 states model ST-9 at 2025-02-10 09:30 +08:00
(01:30 UTC): refused (`barcode-mismatch`), suspicion `barcode-mismatch:<decision id>`, open.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from storage.log import EmbeddedLog

runner = CliRunner()

FACTS = [
    {"type": "company.registered", "id": "f-01", "at": "2025-01-02T09:00:00+08:00", "company_id": "C-1",
     "name": "Acme"},
    {"type": "account.opened", "id": "f-02", "at": "2025-01-02T10:00:00+08:00", "account_id": "A-1",
     "company_id": "C-1", "person_id": "P-1"},
    {"type": "device.installed", "id": "f-03", "at": "2025-01-03T09:00:00+08:00", "barcode": "BC-1",
     "product_model": "ST-1", "product_line": "storage", "customer_id": "CUST-1", "site_id": "S-1",
     "warranty_end": "2028-01-03T00:00:00+08:00"},
]  # fmt: skip
ASK = ("--account", "A-1", "--number", "13800138000", "--barcode", "BC-1", "--model", "ST-9", "--site", "S-1")
AT = ("--at", "2025-02-10T09:30+08:00")


def hotline(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def log(tmp_path: Path) -> str:
    facts = tmp_path / "facts.jsonl"
    facts.write_text("".join(json.dumps({**f, "source": "test"}) + "\n" for f in FACTS))
    path = str(tmp_path / "hotline.db")
    hotline("ingest", str(facts), "--log", path)
    return path


def open_suspicions(log: str) -> list[dict[str, object]]:
    snap = json.loads(hotline("state", "--json", "--as-of", "2025-02-11T10:00+08:00", "--log", log))
    return snap["open_suspicions"]  # type: ignore[no-any-return]


def test_a_dry_run_raises_nothing(log: str) -> None:
    answer = json.loads(hotline("check", *ASK, *AT, "--dry-run", "--json", "--log", log))
    assert answer["admitted"] is False and "barcode-mismatch" in [r["code"] for r in answer["reasons"]]
    assert open_suspicions(log) == []
    with EmbeddedLog(Path(log)) as embedded:
        assert (embedded.count(), embedded.decisions()) == (3, [])


def test_a_recorded_mismatch_raises_the_suspicion_without_a_call(log: str) -> None:
    answer = json.loads(hotline("check", *ASK, *AT, "--json", "--log", log))
    assert answer["admitted"] is False and "barcode-mismatch" in [r["code"] for r in answer["reasons"]]
    decision = answer["id"]
    [suspicion] = open_suspicions(log)
    assert suspicion["id"] == f"barcode-mismatch:{decision}"
    assert (suspicion["rule"], suspicion["account_id"], suspicion["number"], suspicion["at"]) == (
        "BARCODE-MISMATCH",
        "A-1",
        "+8613800138000",
        "2025-02-10T01:30:00Z",
    )
    with EmbeddedLog(Path(log)) as embedded:
        assert [d.id for d in embedded.decisions()] == [decision]
        assert embedded.count() == 4  # the three facts and the refusal, hash-chained like any
        assert embedded.verify("facts").intact and embedded.verify("decisions").intact
    # the human view says it too, and the account's explanation names it
    assert f"barcode-mismatch:{decision}" in hotline(
        "explain", "account", "A-1", "--as-of", "2025-02-11T10:00+08:00", "--log", log
    )
