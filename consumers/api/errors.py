"""Every error of the query API as a Problem (JSON): never a stack trace, never plain text."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from consumers.api.models import MsgspecResponse, Problem
from consumers.api.params import ApiError

log = logging.getLogger("hotline.api")


def problem(status: int, error: str) -> Response:
    return MsgspecResponse(Problem(status=status, error=error), status_code=status)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return MsgspecResponse(exc.problem, status_code=exc.problem.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, exc.detail)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return MsgspecResponse(
        Problem(status=500, error="internal error (logged on the server)"), status_code=500
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Callable[[Request, Exception], Awaitable[Response]]] = {
    ApiError: _api_error,
    HTTPException: _http_error,
    Exception: _server_error,
}
