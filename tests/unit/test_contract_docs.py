"""The input contract's documentation runs: every example in docs/facts.md decodes, there is one per
fact type, docs/examples/facts.jsonl holds the same story, and that story folds as the doc says."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from domain.policy import load_policy
from producers.ingest import ingest_files
from projections.fold import project
from schemas.codec import fact_from_json
from schemas.facts import FACT_TYPES, TAG_OF, Fact
from schemas.jsonschema import export
from storage.log import EmbeddedLog

DOCS = Path(__file__).resolve().parents[2] / "docs"
FACTS_MD = DOCS / "facts.md"
EXAMPLES = DOCS / "examples" / "facts.jsonl"
JSON_BLOCK = re.compile(r"^```json\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def doc_examples() -> list[str]:
    return [block.strip() for block in JSON_BLOCK.findall(FACTS_MD.read_text(encoding="utf-8"))]


def story() -> list[Fact]:
    return [fact_from_json(line) for line in doc_examples()]


def test_each_example_is_one_json_line() -> None:
    for example in doc_examples():
        assert "\n" not in example, f"an example must be one JSON Lines line: {example[:60]}"


def test_one_example_per_fact_type() -> None:
    tags = Counter(json.loads(example)["type"] for example in doc_examples())
    assert tags == Counter({tag: 1 for tag in TAG_OF.values()})
    assert {type(fact) for fact in story()} == set(FACT_TYPES)


def test_each_type_has_a_section() -> None:
    text = FACTS_MD.read_text(encoding="utf-8")
    for tag in TAG_OF.values():
        assert f"## `{tag}`" in text


def test_examples_file_is_the_same_story() -> None:
    lines = [line for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines == doc_examples()
    assert [fact_from_json(line) for line in lines] == story()


def test_example_times_carry_an_offset_in_2025() -> None:
    for example in doc_examples():
        raw = json.loads(example)
        assert raw["at"].startswith("2025-") and raw["at"].endswith("+08:00"), raw["id"]


def test_the_story_folds_with_one_anomaly_only() -> None:
    state = project(story(), load_policy())
    # the annulment names a violation from before the story: kept, and shown to the audit
    assert [a.reason for a in state.anomalies] == ["no report or suspicion R-0917: nothing to annul"]
    # the story does what docs/facts.md says it does
    assert set(state.violations) == {"barcode-mismatch:CALL-1001", "R-1001"}
    assert {p: state.pending[p].status for p in ("barcode-mismatch:CALL-1001", "case-reuse:CALL-1001")} == {
        "barcode-mismatch:CALL-1001": "confirmed",
        "case-reuse:CALL-1001": "dismissed",
    }
    number = state.penalties["barcode-mismatch:CALL-1001/number"]
    account = state.penalties["barcode-mismatch:CALL-1001/account"]
    assert number.lifted_at is not None and account.lifted_at is None
    assert "CERT-STO-1001" in state.revocations
    plan = state.plans["R-1001/plan"]
    assert plan.submitted_at is not None and plan.accepted_at is not None


def test_the_examples_file_ingests_cleanly(tmp_path: Path) -> None:
    log = EmbeddedLog(tmp_path / "log.db")
    try:
        report = ingest_files(log, [EXAMPLES])
        assert report.rejected == []
        assert report.appended == len(FACT_TYPES)
        again = ingest_files(log, [EXAMPLES])
        assert (again.appended, again.duplicates, again.rejected) == (0, len(FACT_TYPES), [])
    finally:
        log.close()


def test_json_schema_export(tmp_path: Path) -> None:
    paths = export(tmp_path)
    assert sorted(p.name for p in paths) == [
        "asyncapi.json",
        "call-request.schema.json",
        "derived.schema.json",
        "facts.schema.json",
    ]
    schemas = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in paths}
    facts_text = (tmp_path / "facts.schema.json").read_text(encoding="utf-8")
    for tag in TAG_OF.values():
        assert f'"{tag}"' in facts_text
    assert set(schemas["facts.schema.json"]["discriminator"]["mapping"]) == set(TAG_OF.values())
    assert "admission.decided" in (tmp_path / "derived.schema.json").read_text(encoding="utf-8")
    asyncapi = schemas["asyncapi.json"]
    addresses = {c["address"] for c in asyncapi["channels"].values()}
    assert {"hotline.facts", "hotline.rejects", "hotline.projection.blacklist"} <= addresses
    assert asyncapi["channels"]["hotline-facts"]["messages"]["record"]["payload"] == {
        "$ref": "facts.schema.json"
    }
    assert "barcode" in schemas["call-request.schema.json"]["$defs"]["CallRequest"]["properties"]
    again = export(tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]  # deterministic


def test_examples_validate_against_the_json_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    export(tmp_path)
    schema = json.loads((tmp_path / "facts.schema.json").read_text(encoding="utf-8"))
    for example in doc_examples():
        jsonschema.validate(json.loads(example), schema)
