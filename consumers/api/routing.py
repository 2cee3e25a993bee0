"""Who may call which route of the query API: every route behind the token gate (access.http).

`ENDPOINTS` is the one table of paths, handlers and the action each needs (None: open to anyone:
load balancers probe /health and /ready, and the API document is public). The OpenAPI document
and the tests read the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.routing import Route

from access.http import JSON, NO_BODY, Gate
from access.roles import Action

ADMISSION_MAX_BODY = 64 << 10  # a CallRequest is a few hundred bytes


@dataclass(frozen=True)
class Endpoint:
    path: str
    handler: str  # the name of the Api method that answers
    methods: tuple[str, ...]
    action: Action | None  # None: open
    max_body: int = NO_BODY


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/admission", "admission", ("GET", "POST"), Action.ADMIT, ADMISSION_MAX_BODY),
    Endpoint("/blacklist", "blacklist", ("GET",), Action.READ),
    Endpoint("/blacklist/{kind}/{subject}", "blacklist_subject", ("GET",), Action.READ),
    Endpoint("/companies/{company_id}/counters", "company_counters", ("GET",), Action.READ),
    Endpoint("/accounts/{account_id}/certificates", "certificates", ("GET",), Action.READ),
    Endpoint("/explain/{kind}/{subject}", "explain", ("GET",), Action.EXPLAIN),
    Endpoint("/digest", "digest", ("GET",), Action.READ),
    Endpoint("/status", "status", ("GET",), Action.READ),
    Endpoint("/health", "health", ("GET",), None),
    Endpoint("/ready", "ready", ("GET",), None),
    Endpoint("/openapi.json", "openapi", ("GET",), None),
)


def routes(api: Any, gate: Gate) -> list[Route]:
    return [guarded_route(e, getattr(api, e.handler), gate) for e in ENDPOINTS]


def guarded_route(e: Endpoint, handler: Any, gate: Gate) -> Route:
    """The endpoint's route, behind the gate when it names an action (open otherwise)."""
    if e.action is None:
        guarded = gate.open(handler)
    else:
        guarded = gate.protect(handler, e.action, accepts=JSON, max_body=e.max_body)
    return Route(e.path, guarded, methods=list(e.methods))
