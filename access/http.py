"""The gate in front of every HTTP route (Starlette): token, role, content type and body size.

Order of the checks, each refusal a JSON body {"status", "error"}:
401 no token, or one that is unknown or revoked (with `WWW-Authenticate: Bearer`); 403 a role that
may not do this; 415 a POST that is not JSON (a browser page can send `text/plain` across origins
without asking first, never `application/json`); 413 a body over the route's limit, declared or read
(the body is read in chunks and reading stops at the limit). No CORS headers are ever sent, so a
browser keeps other origins from reading any answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from access.roles import Action, may, roles_that_may
from access.tokens import Principal, TokenStore

Endpoint = Callable[[Request], Awaitable[Response]]
Render = Callable[[int, str], Response]

JSON = ("application/json",)
JSON_OR_LINES = ("application/json", "application/x-ndjson")
NO_BODY = 4 << 10  # routes that take no body: a declared body over this is refused unread
_REALM = 'Bearer realm="hotline"'


class Refusal(Exception):
    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.headers = headers or {}


class _Error(msgspec.Struct):
    status: int
    error: str


def json_error(status: int, error: str) -> Response:
    return Response(msgspec.json.encode(_Error(status, error)), status, media_type="application/json")


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise Refusal(
            401,
            "authentication required: send `Authorization: Bearer <token>` "
            "(an operator makes one with `hotline tokens create --role ROLE`)",
            {"WWW-Authenticate": _REALM},
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refusal(
            401,
            "the Authorization header must be `Bearer <token>`",
            {"WWW-Authenticate": f'{_REALM}, error="invalid_request"'},
        )
    return token


def authenticate(request: Request, tokens: TokenStore) -> Principal:
    principal = tokens.authenticate(bearer_token(request))
    if principal is None:
        raise Refusal(
            401, "unknown or revoked token", {"WWW-Authenticate": f'{_REALM}, error="invalid_token"'}
        )
    return principal


def authorise(principal: Principal, action: Action) -> None:
    if not may(principal.role, action):
        allowed = ", ".join(roles_that_may(action))
        raise Refusal(
            403,
            f"the role {principal.role} may not {action}: this needs one of {allowed}",
            {"WWW-Authenticate": f'{_REALM}, error="insufficient_scope"'},
        )


def check_content_type(request: Request, accepts: Sequence[str]) -> None:
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media not in accepts:
        shown = media or "none"
        raise Refusal(415, f"content type {shown} is not accepted here: send {' or '.join(accepts)}")


def check_declared_size(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refusal(413, f"body of {declared} bytes is over the limit of {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read in chunks; more than `limit` bytes is a 413 and nothing more is read."""
    check_declared_size(request, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"body over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def principal_of(request: Request) -> Principal:
    """The principal the gate let through (inside a protected handler)."""
    principal: Principal = request.state.principal
    return principal


class Gate:
    """Wraps each route's handler; `render` shapes the refusals as the app's other errors."""

    def __init__(self, tokens: TokenStore, render: Render = json_error) -> None:
        self.tokens = tokens
        self.render = render

    def _refuse(self, refusal: Refusal) -> Response:
        response = self.render(refusal.status, refusal.error)
        response.headers.update(refusal.headers)
        return response

    def protect(
        self,
        handler: Endpoint,
        action: Action,
        *,
        accepts: Sequence[str] = JSON,
        max_body: int = NO_BODY,
    ) -> Endpoint:
        """Only a principal whose role may `action`; POSTs only with a content type in `accepts`."""

        async def guarded(request: Request) -> Response:
            try:
                principal = authenticate(request, self.tokens)
                authorise(principal, action)
                if request.method == "POST":
                    check_content_type(request, accepts)
                check_declared_size(request, max_body)
                request.state.principal = principal
                return await handler(request)
            except Refusal as refusal:
                return self._refuse(refusal)

        return guarded

    def open(self, handler: Endpoint) -> Endpoint:
        """No token (health, readiness, the API document); still no body."""

        async def unguarded(request: Request) -> Response:
            try:
                check_declared_size(request, NO_BODY)
            except Refusal as refusal:
                return self._refuse(refusal)
            return await handler(request)

        return unguarded
