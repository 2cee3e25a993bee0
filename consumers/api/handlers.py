"""The query API's answers, one method per route (consumers.api.routing names them): each reads the
replica's projection at the time asked, in the event loop when the live state answers at once, else
in a worker thread. consumers.api.app wires them into the Starlette app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from access.http import read_body
from consumers.api.admission import Recorder, call_from_query, record
from consumers.api.models import (
    AdmissionAnswer,
    BlacklistAnswer,
    CertificateStatus,
    CompanyCounters,
    DigestAnswer,
    Health,
    MsgspecResponse,
    SubjectBlacklist,
)
from consumers.api.openapi import openapi_document
from consumers.api.params import (
    ApiError,
    AsOfParams,
    BlacklistParams,
    SubjectPath,
    call_from_body,
    parse_params,
)
from consumers.api.reveal import Pseudonyms
from consumers.api.routing import ADMISSION_MAX_BODY
from consumers.api.status import replica_status
from consumers.replica import Replica
from domain.admission import admit_call, decided
from domain.policy import Policy
from projections.explain import explain
from projections.state import State
from projections.view import (
    BlacklistEntry,
    CompanyCounter,
    company_counters,
    digest,
    penalty_status,
    snapshot,
)
from schemas.derived import CallRequest

T = TypeVar("T")


class Api:
    def __init__(self, replica: Replica, recorder: Recorder | None, sealed: Pseudonyms | None = None) -> None:
        self.replica = replica
        self.policy: Policy = replica.policy
        self.recorder = recorder
        self.sealed = sealed  # a sealed line: subjects asked in clear are looked up as pseudonyms
        # A recorder that writes to the log the replica reads back (LogRecorder) gets one decision at a
        # time, timed inside the turn: its refusal facts land in the order of their times. Timed before
        # the turn, one could land after a later one and reach the replica late: a refold.
        self._in_order = asyncio.Lock() if getattr(recorder, "in_event_order", False) else None

    def _subject(self, kind: str, subject: str) -> str:
        return subject if self.sealed is None else self.sealed.subject(kind, subject)

    def _require_ready(self) -> None:
        if not self.replica.ready:
            raise ApiError(
                503,
                f"not ready: still reading the facts topic ({self.replica.applied} facts so far); "
                "retry when GET /ready answers 200",
            )

    async def _answer(self, t: datetime | None, fn: Callable[[State], T], exact: bool, fast: bool) -> T:
        """fn over the projection at t: in the event loop when the live state answers at once (`fast`
        questions are small), else in a worker thread (a fold, or the feeder holding the lock)."""
        self._require_ready()
        if fast and t is not None:
            done, value = self.replica.try_read(t, fn, exact)
            if done:
                return value  # type: ignore[return-value]
        return await run_in_threadpool(self.replica.read, t, fn, exact)

    # admission ----------------------------------------------------------------------------------
    async def admission(self, request: Request) -> Response:
        tz = self.policy.tz
        if request.method == "POST":
            call = call_from_body(await read_body(request, ADMISSION_MAX_BODY), tz)
        else:
            call = call_from_query(request.query_params, tz)
        return MsgspecResponse(await self.decide(call))

    async def decide(self, call: CallRequest) -> AdmissionAnswer:
        """admit_call on the live projection; the decision is recorded (admission-decisions topic)."""
        if self._in_order is None:
            return await self._decide(call)
        async with self._in_order:
            return await self._decide(call)

    async def _decide(self, call: CallRequest) -> AdmissionAnswer:
        at = call.at or datetime.now(UTC)
        if self.sealed is not None:  # matched, and recorded, under the number's pseudonym
            asked = self.sealed.number_asked(call.number, call.account_id)
            call = msgspec.structs.replace(call, number=asked)
        replica = self.replica
        # the embedded log may hold an effective-dated history: the version in force at the call
        policy_at = getattr(replica, "policy_at", None)
        policy: Policy = policy_at(at) if policy_at is not None else self.policy

        def reasons(state: State) -> tuple[Any, int, dict[int, int]]:
            # `known` is set with the state served, under the same lock: the offsets behind this answer
            return admit_call(state, call, at, policy), replica.applied, dict(replica.known)

        # Admission asks time-indexed questions, so the live state answers any t after the last fact
        # even if a later deadline has fired for another question (its penalty starts after t).
        found, known, offsets = await self._answer(at, reasons, exact=False, fast=True)
        decision = decided(call, at, policy, found, known, offsets)
        recorded = await record(self.recorder, decision)
        return AdmissionAnswer(**msgspec.structs.asdict(decision), recorded=recorded)

    # blacklist ----------------------------------------------------------------------------------
    async def blacklist(self, request: Request) -> Response:
        q = parse_params(BlacklistParams, dict(request.query_params), self.policy.tz)
        t = q.as_of or datetime.now(UTC)
        wanted = None if q.subject is None else self._subject(q.kind or "", q.subject)

        def entries(state: State) -> list[BlacklistEntry]:
            out = []
            for _, p in sorted(state.penalties.items()):
                if q.kind is not None and p.subject_kind != q.kind:
                    continue
                if wanted is not None and p.subject != wanted:
                    continue
                if q.all or p.covers(t):
                    out.append(BlacklistEntry(penalty=p, status=penalty_status(p, t)))
            return out

        found = await self._answer(t, entries, exact=True, fast=False)
        return MsgspecResponse(BlacklistAnswer(as_of=t, entries=found))

    async def blacklist_subject(self, request: Request) -> Response:
        path = parse_params(SubjectPath, dict(request.path_params), self.policy.tz)
        q = parse_params(AsOfParams, dict(request.query_params), self.policy.tz)
        t = q.as_of or datetime.now(UTC)
        wanted = self._subject(path.kind, path.subject)

        def entries(state: State) -> list[BlacklistEntry]:
            mine = [p for p in state.penalties.values() if (p.subject_kind, p.subject) == (path.kind, wanted)]
            return [BlacklistEntry(penalty=p, status=penalty_status(p, t)) for p in sorted(mine, key=_by_id)]

        found = await self._answer(t, entries, exact=True, fast=False)
        return MsgspecResponse(
            SubjectBlacklist(
                kind=path.kind,
                subject=wanted,
                as_of=t,
                blacklisted=any(e.status == "in force" for e in found),
                entries=found,
            )
        )

    # counters, certificates, explain ------------------------------------------------------------
    async def company_counters(self, request: Request) -> Response:
        company_id = request.path_params["company_id"]
        q = parse_params(AsOfParams, dict(request.query_params), self.policy.tz)
        t = q.as_of or datetime.now(UTC)

        def counters(state: State) -> list[CompanyCounter] | None:
            if company_id not in state.companies:
                return None
            return [c for c in company_counters(state, t) if c.company_id == company_id]

        found = await self._answer(t, counters, exact=True, fast=True)
        if found is None:
            raise ApiError(404, f"no company {company_id} as of {t.isoformat()}")
        return MsgspecResponse(CompanyCounters(company_id=company_id, as_of=t, counters=found))

    async def certificates(self, request: Request) -> Response:
        account_id = request.path_params["account_id"]
        q = parse_params(AsOfParams, dict(request.query_params), self.policy.tz)
        t = q.as_of or datetime.now(UTC)

        def status(state: State) -> CertificateStatus | None:
            if account_id not in state.accounts:
                return None
            return CertificateStatus(
                account_id=account_id,
                as_of=t,
                revoked=list(state.account_revocations.get(account_id, ())),
                permanent=state.permanent_revocation(account_id, t),
            )

        found = await self._answer(t, status, exact=True, fast=True)
        if found is None:
            raise ApiError(404, f"no account {account_id} as of {t.isoformat()}")
        return MsgspecResponse(found)

    async def explain(self, request: Request) -> Response:
        path = parse_params(SubjectPath, dict(request.path_params), self.policy.tz)
        q = parse_params(AsOfParams, dict(request.query_params), self.policy.tz)
        t = q.as_of or datetime.now(UTC)
        wanted = self._subject(path.kind, path.subject)
        found = await self._answer(
            t, lambda state: explain(state, path.kind, wanted, t), exact=True, fast=False
        )
        return MsgspecResponse(found)

    async def digest(self, request: Request) -> Response:
        q = parse_params(AsOfParams, dict(request.query_params), self.policy.tz)
        found = await self._answer(
            q.as_of, lambda state: digest(snapshot(state, q.as_of)), exact=True, fast=False
        )
        return MsgspecResponse(DigestAnswer(as_of=q.as_of, digest=found, facts=self.replica.applied))

    # operations ---------------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return MsgspecResponse(Health(status="up"))

    async def ready(self, request: Request) -> Response:
        body = replica_status(self.replica)
        return MsgspecResponse(body, status_code=200 if body.ready else 503)

    async def status(self, request: Request) -> Response:
        return MsgspecResponse(replica_status(self.replica))

    async def openapi(self, request: Request) -> Response:
        return MsgspecResponse(openapi_document())


def _by_id(p: Any) -> str:
    return str(p.id)
