"""An admission asked of the query API: the call read from the query string, and the decision put on
the record (consumers.api.handlers.Api.decide answers it)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import tzinfo

import msgspec

from consumers.api.params import QUERY_NAMES, AdmissionParams, ApiError, call_problem, parse_params
from consumers.embedded import DecisionNotRecorded
from schemas.derived import AdmissionDecision, CallRequest

log = logging.getLogger("hotline.api")
# Records a decision; returns False (or raises) when it could not be recorded. May be async, and may
# have start/stop hooks.
Recorder = Callable[[AdmissionDecision], Awaitable[bool | None] | bool | None]


def call_from_query(query: Mapping[str, str], tz: tzinfo) -> CallRequest:
    """The call of GET /admission; a bad parameter is a 400 naming it as the query string does."""
    q = parse_params(AdmissionParams, dict(query), tz)
    try:
        return msgspec.convert(
            {
                "account_id": q.account,
                "number": q.number,
                "barcode": q.barcode,
                "stated_model": q.model,
                "stated_site": q.site,
                "channel": q.channel,
                "at": q.at,
            },
            CallRequest,
        )
    except msgspec.ValidationError as err:
        raise call_problem(err, QUERY_NAMES) from None


async def record(recorder: Recorder | None, decision: AdmissionDecision) -> bool:
    """Whether `recorder` put the decision on the record."""
    if recorder is None:  # no recorder: the answer is not on any record, and says so
        return False
    try:
        outcome = recorder(decision)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return outcome is not False
    except DecisionNotRecorded as err:  # the embedded log: an answer off the record is not given
        raise ApiError(503, str(err)) from None
    except Exception:  # the caller still gets its answer, marked not recorded; logged loudly
        log.exception("could not record admission decision %s", decision.id)
        return False
