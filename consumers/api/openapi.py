"""The OpenAPI 3.1 document of the query API (docs/openapi.json; `python -m consumers.api openapi`).

Every route the app serves is in it (tests/unit/test_dashboard_api.py checks `app.routes` against
`DOCUMENTED`): the API's table (consumers.api.routing), the dashboard's (consumers.api.dashboard)
and GET /metrics, which consumers.api.metrics.instrument adds (`hotline serve`, `serve --log`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from access.roles import Action, roles_that_may
from consumers.api.dashboard import DASHBOARD_ENDPOINTS
from consumers.api.dashboard_view import AuditLine, Charts, DashboardView
from consumers.api.models import (
    AdmissionAnswer,
    BlacklistAnswer,
    CertificateStatus,
    CompanyCounters,
    DigestAnswer,
    Health,
    Problem,
    Readiness,
    SubjectBlacklist,
)
from consumers.api.routing import ENDPOINTS, Endpoint
from projections.explain import Explanation
from schemas.derived import CallRequest

OPENAPI_PATH = Path(__file__).parents[2] / "docs" / "openapi.json"
# consumers.metrics_http.metrics_route, inserted by consumers.api.metrics.instrument
METRICS = Endpoint("/metrics", "metrics", ("GET",), Action.READ)
DOCUMENTED: tuple[Endpoint, ...] = (*ENDPOINTS, *DASHBOARD_ENDPOINTS, METRICS)


_REF = "#/components/schemas/{name}"
_TIME = (
    "ISO 8601 date or time, e.g. 2025-03-20 or 2025-03-20T10:00:00+08:00; a date or a time without "
    "an offset is on the policy calendar (Asia/Shanghai)"
)


def _param(name: str, where: str, description: str, required: bool = False, schema: Any = None) -> Any:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _ok(name: str, description: str) -> Any:
    """A JSON answer of the schema `name`; `Name[]` is an array of them."""
    schema: Any = {"$ref": _REF.format(name=name.removesuffix("[]"))}
    if name.endswith("[]"):
        schema = {"type": "array", "items": schema}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _text(media_type: str, description: str) -> Any:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def _get(summary: str, params: list[Any], ok: str, ok_text: str, extra: dict[str, str] | None = None) -> Any:
    responses = {"200": _ok(ok, ok_text), "400": _ok("Problem", "a bad parameter, named with the reason")}
    for status, text in (extra or {}).items():
        responses[status] = _ok("Problem", text)
    responses.setdefault("503", _ok("Problem", "not ready: the replica is still reading the facts topic"))
    return {"summary": summary, "parameters": params, "responses": responses}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document; the schemas are msgspec's JSON Schemas of the response types."""
    _, components = msgspec.json.schema_components(
        [
            AdmissionAnswer,
            CallRequest,
            BlacklistAnswer,
            SubjectBlacklist,
            CompanyCounters,
            CertificateStatus,
            Explanation,
            DigestAnswer,
            Health,
            Readiness,
            DashboardView,
            Charts,
            AuditLine,
            Problem,
        ],
        ref_template=_REF,
    )
    as_of = _param("as_of", "query", f"Event time (default now): {_TIME}")
    kind = _param("kind", "path", "Subject kind", schema={"enum": ["account", "number", "company"]})
    subject = _param("subject", "path", "Account id, phone number or company id")
    admission_params = [
        _param("account", "query", "Engineer account id", required=True),
        _param("number", "query", "The caller's phone number", required=True),
        _param("barcode", "query", "Device barcode or authorisation code", required=True),
        _param("model", "query", "Product model the caller states", required=True),
        _param("site", "query", "Customer site the caller states", required=True),
        _param("channel", "query", "partner (default) or customer", schema={"enum": ["partner", "customer"]}),
        _param("at", "query", f"When the call comes in (default now): {_TIME}"),
    ]
    decision_text = (
        "the decision with every reason, in the order of RULES.md (empty = admitted); `recorded` says"
        " whether it was on the record before the answer (acks=all on Kafka, the log with --log)"
    )
    admission_get = _get("May this call through?", admission_params, "AdmissionAnswer", decision_text)
    admission_post = {
        "summary": "May this call through? (the request as a JSON body)",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(name="CallRequest")}}},
        },
        "responses": admission_get["responses"],
    }
    blacklist_params = [
        as_of,
        _param(
            "kind", "query", "Only this kind of subject", schema={"enum": ["account", "number", "company"]}
        ),
        _param("subject", "query", "Only this subject"),
        _param(
            "all", "query", "Every entry with its status, not only those in force", schema={"type": "boolean"}
        ),
    ]
    paths = {
        "/admission": {"get": admission_get, "post": admission_post},
        "/blacklist": {
            "get": _get(
                "The blacklist in force now or as of a time", blacklist_params, "BlacklistAnswer", "entries"
            )
        },
        "/blacklist/{kind}/{subject}": {
            "get": _get(
                "Every blacklist entry of one subject, with its status",
                [kind, subject, as_of],
                "SubjectBlacklist",
                "the subject's entries",
            )
        },
        "/companies/{company_id}/counters": {
            "get": _get(
                "A company's violation counters in the rolling year",
                [_param("company_id", "path", "Company id"), as_of],
                "CompanyCounters",
                "the counters",
                {"404": "no such company at that time"},
            )
        },
        "/accounts/{account_id}/certificates": {
            "get": _get(
                "An account's revoked certificates (toward three strikes) and the permanent revocation",
                [_param("account_id", "path", "Engineer account id"), as_of],
                "CertificateStatus",
                "the tally",
                {"404": "no such account at that time"},
            )
        },
        "/explain/{kind}/{subject}": {
            "get": _get(
                "Why: facts -> violations -> penalties, with the policy version",
                [kind, subject, as_of],
                "Explanation",
                "the chain",
            )
        },
        "/digest": {
            "get": _get(
                "Digest of the whole state (as `hotline replay`; without as_of: every fact, every deadline)",
                [_param("as_of", "query", _TIME)],
                "DigestAnswer",
                "the digest",
            )
        },
        "/health": {"get": {"summary": "The process is up", "responses": {"200": _ok("Health", "up")}}},
        "/ready": {
            "get": {
                "summary": "Ready while the replica is caught up with the facts topic and reading it",
                "responses": {
                    "200": _ok("Readiness", "ready"),
                    "503": _ok("Readiness", "behind, still reading, or the topic cannot be read"),
                },
            }
        },
        "/status": {
            "get": {
                "summary": "Lag per partition, refolds (is one running, what the last one cost)",
                "responses": {"200": _ok("Readiness", "the replica's status")},
            }
        },
        "/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}
        },
        **_dashboard_paths(as_of),
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics: latency by route, admission outcomes, the replica's progress",
                "responses": {"200": _text("text/plain", "the text exposition format (docs/metrics.md)")},
            }
        },
    }
    _secure(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hotline-governance query API",
            "version": "1.0.0",
            "description": (
                "Admission checks, blacklist, counters, certificate tallies and explanations for the partner "
                "support line. Every process holds the whole projection: any process answers any key."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An opaque token: `hotline tokens create --role ROLE` (docs/security.md)",
                }
            },
        },
    }


def _dashboard_paths(as_of: Any) -> dict[str, Any]:
    """The web dashboard (docs/dashboard.md): its page and files are open, its data are not."""
    files = {
        media: {"schema": {"type": "string"}} for media in ("text/javascript", "text/css", "image/svg+xml")
    }
    static = {
        "summary": "The page's scripts, styles and the vendored charting library",
        "parameters": [_param("path", "path", "A file of the page, e.g. dashboard.js or vendor/vega.min.js")],
        "responses": {
            "200": {"description": "the file; it carries no data", "content": files},
            "404": _ok("Problem", "no such file"),
        },
    }
    events = (
        '`event: facts` with data {"version", "facts", "ready"} at once and whenever the projection takes'
        " new facts; a comment line every 15 s while idle"
    )
    view = "The dashboard's tables as of a time: blacklist, counters, tallies, suspicions, plans, SLA"
    audit = "Recorded admission decisions up to a time (newest 500), each beside today's answer"
    return {
        "/": {
            "get": {
                "summary": "The dashboard page",
                "responses": {"200": _text("text/html", "it holds no data")},
            }
        },
        "/static/{path}": {"get": static},
        "/dashboard/view": {"get": _get(view, [as_of], "DashboardView", "the view")},
        "/dashboard/charts": {"get": _get("The dashboard's chart series", [as_of], "Charts", "the series")},
        "/dashboard/events": {
            "get": {
                "summary": "Server-sent events whenever the projection takes new facts",
                "responses": {"200": _text("text/event-stream", events)},
            }
        },
        "/dashboard/audit": {
            "get": _get(
                audit,
                [as_of],
                "AuditLine[]",
                "the lines, newest first",
                {"404": "the decisions are read on the log: only `serve --log` has them"},
            )
        },
    }


def _secure(paths: dict[str, Any]) -> None:
    """Each operation's security from the routing tables: the roles that may call it, or open."""
    for e in DOCUMENTED:
        for method in e.methods:
            operation = paths[e.path][method.lower()]
            if e.action is None:
                operation["security"] = []
                continue
            roles = ", ".join(roles_that_may(e.action))
            operation["security"] = [{"bearer": []}]
            operation["description"] = f"Roles: {roles}."
            responses = operation["responses"] = dict(operation["responses"])
            responses["401"] = _ok("Problem", "no token, or an unknown or revoked one")
            responses["403"] = _ok("Problem", f"the token's role may not call this (roles: {roles})")
            responses["413"] = _ok("Problem", f"a body over {e.max_body} bytes")
            if method == "POST":
                responses["415"] = _ok("Problem", "a content type other than application/json")


def write_openapi(path: Path = OPENAPI_PATH) -> Path:
    path.write_bytes(msgspec.json.format(msgspec.json.encode(openapi_document()), indent=2) + b"\n")
    return path
