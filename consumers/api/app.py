"""The query API for dashboards and call routing (Starlette, msgspec responses).

Every process holds the whole projection (consumers.replica), so any process answers any key. Query
parameters are validated with pydantic at the edge: a bad one gets a 400 naming the parameter and the
reason, never a stack trace. Times are ISO 8601; a date, or a time without an offset, is on the
policy's calendar. A time left out means now, except for /digest, where it means what `hotline
replay` means: every fact, every deadline. Every route but /health, /ready and /openapi.json needs
a bearer token whose role may call it (consumers.api.routing, docs/security.md).

The answers, one method per route, are consumers.api.handlers.Api; this module wires them, the
dashboard and the token gate into the Starlette app.

Run: python -m consumers.api serve --port 8000   (or `hotline serve`); python -m consumers.api openapi
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from access.http import Gate
from access.tokens import TokenStore
from consumers.api.admission import Recorder
from consumers.api.dashboard import dashboard_routes
from consumers.api.errors import EXCEPTION_HANDLERS, problem
from consumers.api.handlers import Api
from consumers.api.reveal import Pseudonyms, RevealJson
from consumers.api.routing import routes
from consumers.replica import Replica
from projections.projector import Projector

__all__ = ["Api", "Recorder", "create_app"]


def create_app(
    source: Replica | Projector,
    tokens: TokenStore,
    recorder: Recorder | None = None,
    sealed: Pseudonyms | None = None,
) -> Starlette:
    """The query API over a replica (kept current from Kafka, or from the embedded log:
    consumers.api.embedded_source) or a filled Projector (tests, benches); the dashboard at /.

    Every route but /health, /ready, /openapi.json and the dashboard's page and scripts needs a token
    of `tokens` whose role may call it (consumers.api.routing, consumers.api.dashboard). `recorder`
    receives every admission decision (main_serve publishes them to admission-decisions; the embedded
    source records them on the log). `sealed`: a sealed line's key store (docs/privacy.md): numbers
    asked are matched as pseudonyms, and every JSON answer shows them in clear."""
    replica = source if isinstance(source, Replica) else Replica.from_projector(source)
    api = Api(replica, recorder, sealed)
    gate = Gate(tokens, render=problem)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if (start := getattr(recorder, "start", None)) is not None:
            await start()
        replica.start()
        try:
            yield
        finally:
            replica.stop()
            if (stop := getattr(recorder, "stop", None)) is not None:
                await stop()

    app = Starlette(
        routes=routes(api, gate) + dashboard_routes(api, gate),
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.replica = replica
    if sealed is not None:
        app.add_middleware(RevealJson, pseudonyms=sealed)
    return app
