"""The use cases, wired once: read the log, fold, answer. The CLI (and later the HTTP API) call these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from domain.admission import admit_call
from domain.policy import Policy, load_policy
from hotline.log import EmbeddedLog
from projections.fold import project
from projections.state import State
from projections.view import Snapshot, digest, snapshot
from schemas.derived import AdmissionDecision, CallRequest

DEFAULT_LOG = Path("hotline.db")


@dataclass
class Hotline:
    log: EmbeddedLog
    policy: Policy

    @classmethod
    def open(cls, log_path: Path = DEFAULT_LOG, policy_path: Path | None = None) -> Hotline:
        return cls(EmbeddedLog(log_path), load_policy(policy_path))

    def state(self, as_of: datetime | None = None, upto_offset: int | None = None) -> State:
        """The projections at event time `as_of` (all facts when None), from what the log held up to
        `upto_offset` (record time; everything when None)."""
        return project(self.log.read(upto_offset), self.policy, as_of)

    def snapshot(self, as_of: datetime | None = None, upto_offset: int | None = None) -> Snapshot:
        return snapshot(self.state(as_of, upto_offset), as_of)

    def replay_digest(
        self, as_of: datetime | None = None, upto_offset: int | None = None
    ) -> tuple[str, Snapshot]:
        snap = self.snapshot(as_of, upto_offset)
        return digest(snap), snap

    def check(self, request: CallRequest, record: bool = True) -> AdmissionDecision:
        """Answer "may this call through?" with what the log holds now, and record the answer."""
        at = request.at or datetime.now(UTC)
        known_up_to = self.log.end_offset()
        state = self.state(as_of=at)
        reasons = admit_call(state, request, at, self.policy)
        decision = AdmissionDecision(
            id=f"adm-{uuid.uuid4().hex}",
            at=at,
            policy_version=self.policy.version,
            request=request,
            admitted=not reasons,
            reasons=reasons,
            known_up_to=known_up_to,
        )
        if record:
            self.log.record_decision(decision)
        return decision

    def audit_decisions(self) -> list[tuple[AdmissionDecision, bool]]:
        """Each recorded decision beside whether the answer would differ with everything known now."""
        state = self.state()
        out = []
        for decision in self.log.decisions():
            now = admit_call(state, decision.request, decision.at, self.policy)
            out.append((decision, tuple(r.code for r in now) != tuple(r.code for r in decision.reasons)))
        return out
