"""JSON Schema of the edge contract, for integrators: the input facts, the derived events and the
call request. Generated from the msgspec types (titles are the class names, descriptions their
docstrings), so it can never drift from what the decoder accepts. docs/facts.md is the prose.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from schemas import derived as d
from schemas.facts import TAG_OF, AnyFact

DRAFT = "https://json-schema.org/draft/2020-12/schema"

DerivedEvent = (
    d.Suspicion
    | d.Violation
    | d.Penalty
    | d.CertificateRevoked
    | d.AllCertificatesRevoked
    | d.BlackKeyEvent
    | d.RectificationPlan
    | d.SupportStopped
    | d.CodesRequested
    | d.Warning
    | d.Anomaly
    | d.AdmissionDecision
    | d.SlaBreach
)

#: What the fields every fact carries mean; msgspec cannot take these from the code.
COMMON_FIELDS = {
    "type": "The fact type (the tag of the union).",
    "id": "Unique id of this fact. Re-sending the same id with the same content is a no-op; "
    "the same id with different content is rejected.",
    "at": "When it happened in the world, an RFC 3339 date-time with a UTC offset "
    "(e.g. 2025-03-01T09:30:00+08:00); stored in UTC.",
    "source": "The system that sent the fact (e.g. crm, callcentre, hotline-staff).",
    "v": "Schema version of this fact type (default: its current version); older versions are upcast "
    "on input.",
}


def _describe_facts(schema: dict[str, Any]) -> dict[str, Any]:
    tag_of = {t.__name__: tag for t, tag in TAG_OF.items()}
    for name, definition in schema["$defs"].items():
        if name in tag_of:
            definition.setdefault("description", f"Input fact `{tag_of[name]}`; see docs/facts.md.")
            for field, text in COMMON_FIELDS.items():
                definition["properties"][field].setdefault("description", text)
    return schema


def _document(tp: Any, title: str, description: str) -> dict[str, Any]:
    return {"$schema": DRAFT, "title": title, "description": description, **msgspec.json.schema(tp)}


def schemas() -> dict[str, dict[str, Any]]:
    """The three schema documents by file name."""
    return {
        "facts.schema.json": _describe_facts(
            _document(
                AnyFact,
                "Hotline input fact",
                "One line of a JSON Lines input file: a fact from the CRM, the call centre or the line's "
                "staff, tagged by `type`. Unknown fields are refused.",
            )
        ),
        "derived.schema.json": _document(
            DerivedEvent,
            "Hotline derived event",
            "What the rules concluded from the facts (violations, penalties, ...), and the admission "
            "decisions the line recorded. Times are in UTC.",
        ),
        "call-request.schema.json": _document(
            d.CallRequest,
            "Hotline call request",
            "What call routing asks before putting a call through: may this call through?",
        ),
    }


def export(out_dir: Path) -> list[Path]:
    """Write the schemas and the AsyncAPI document of the topics into `out_dir` (sorted keys,
    indent 2, so the output is byte-stable)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    from schemas.asyncapi import document

    for name, schema in {**schemas(), "asyncapi.json": document()}.items():
        path = out_dir / name
        text = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    import sys

    for written in export(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schema")):
        print(written)
