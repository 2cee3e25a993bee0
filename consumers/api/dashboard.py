"""The web dashboard: a static page at `/` and the JSON and event stream it reads (docs/dashboard.md).

The page and its scripts carry no data, so they are served to anyone; every answer with data goes
through the same token gate as the rest of the API. The browser keeps the token in sessionStorage
and sends it in the Authorization header of each fetch(): no cookie, so no cross-site request can
ride on a session (no CSRF surface), and the token is gone when the tab closes. For the same reason
the live updates are read with fetch() as a text/event-stream (EventSource cannot send a header).

Routes (`DASHBOARD_ENDPOINTS`, the table the routes and the OpenAPI document are made from): GET /
(the page), /static/{path} (its scripts, styles and the vendored charting library),
/dashboard/view and /dashboard/charts (role reader and up), /dashboard/events (server-sent events
whenever the projection takes new facts); /dashboard/audit (auditor and staff). The explain page
reads /explain (consumers.api.routing).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from access.http import Endpoint, Gate
from access.roles import Action
from consumers.api.dashboard_view import audit_lines, charts, dashboard_view
from consumers.api.models import MsgspecResponse
from consumers.api.params import ApiError, AsOfParams, parse_params
from consumers.api.routing import Endpoint as Listed
from consumers.api.routing import guarded_route
from consumers.replica import Replica
from domain.policy import Policy
from projections.state import State

T = TypeVar("T")


class Api(Protocol):
    """What the dashboard asks of the query API (consumers.api.handlers.Api), without importing it:
    app.py mounts these routes, so an import back would make a cycle."""

    replica: Replica
    policy: Policy

    def _require_ready(self) -> None: ...

    async def _answer(self, t: datetime | None, fn: Callable[[State], T], exact: bool, fast: bool) -> T: ...


STATIC = Path(__file__).parent / "static"
AUDIT_LINES = 500  # the newest decisions shown on the audit page
EVENT_POLL = 0.25  # seconds between two looks at the projection's version
HEARTBEAT = 15.0  # a comment line now and then, so proxies keep an idle stream open
# Scripts from this origin only, and no eval: the charts have Vega interpret its expressions rather
# than compile them with Function() (`ast: true` in static/charts.js). The charting library sets
# inline styles. Nothing is loaded from another origin, and nothing may frame the page.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class Dashboard:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.replica = api.replica

    def _as_of(self, request: Request) -> datetime:
        q = parse_params(AsOfParams, dict(request.query_params), self.api.policy.tz)
        return q.as_of or datetime.now(UTC)

    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    async def view(self, request: Request) -> Response:
        t = self._as_of(request)
        replica = self.replica
        found = await self.api._answer(
            t, lambda state: dashboard_view(state, t, replica.applied), exact=True, fast=False
        )
        return MsgspecResponse(found)

    async def charts(self, request: Request) -> Response:
        t = self._as_of(request)
        found = await self.api._answer(t, lambda state: charts(state, t), exact=True, fast=False)
        return MsgspecResponse(found)

    async def audit(self, request: Request) -> Response:
        """The recorded decisions made up to the as-of time, each beside today's answer (auditor)."""
        t = self._as_of(request)
        source = self.replica
        recorded = getattr(source, "decisions", None)
        policy_at = getattr(source, "policy_at", None)
        if recorded is None or policy_at is None:
            raise ApiError(404, "the audit page reads the decisions on the log: serve with `--log FILE`")
        decisions = [d for d in await run_in_threadpool(recorded) if d.at <= t]
        decisions = sorted(decisions, key=lambda d: (d.at, d.id))[-AUDIT_LINES:]
        self.api._require_ready()
        found = await run_in_threadpool(
            source.read, None, lambda state: audit_lines(state, decisions, policy_at), True
        )
        return MsgspecResponse(found)

    async def events(self, request: Request) -> Response:
        """`event: facts` with {"facts", "version"} at once, then each time the projection changes."""
        replica = self.replica

        async def stream() -> AsyncIterator[str]:
            seen: tuple[int, int, bool] | None = None
            quiet = 0.0
            while not await request.is_disconnected():
                now = (replica.version, replica.applied, replica.ready)
                if now != seen:
                    seen, quiet = now, 0.0
                    body = json.dumps({"version": now[0], "facts": now[1], "ready": now[2]})
                    yield f"event: facts\ndata: {body}\n\n"
                elif quiet >= HEARTBEAT:
                    quiet = 0.0
                    yield ": still here\n\n"
                await asyncio.sleep(EVENT_POLL)
                quiet += EVENT_POLL

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


STATIC_PATH = "/static/{path}"  # a Mount of StaticFiles, not a Route: `handler` names no method
DASHBOARD_ENDPOINTS: tuple[Listed, ...] = (
    Listed("/", "page", ("GET",), None),
    Listed(STATIC_PATH, "static", ("GET",), None),
    Listed("/dashboard/view", "view", ("GET",), Action.READ),
    Listed("/dashboard/charts", "charts", ("GET",), Action.READ),
    Listed("/dashboard/events", "events", ("GET",), Action.READ),
    Listed("/dashboard/audit", "audit", ("GET",), Action.EXPLAIN),
)


def dashboard_routes(api: Api, gate: Gate) -> list[BaseRoute]:
    board = Dashboard(api)
    out: list[BaseRoute] = []
    for e in DASHBOARD_ENDPOINTS:
        if e.path == STATIC_PATH:
            out.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
            continue
        handler: Endpoint = getattr(board, e.handler)
        out.append(guarded_route(e, handler, gate))
    return out
