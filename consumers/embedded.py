"""The use cases, wired once: read the log, fold, answer. The CLI (and later the HTTP API) call these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from domain.admission import admit_call
from domain.policy import Policy, load_policy
from projections.fold import project
from projections.projector import Projector
from projections.state import State
from projections.view import Snapshot, digest, snapshot
from schemas.derived import AdmissionDecision, CallRequest
from storage.log import EmbeddedLog
from storage.resume import resume_over_log

DEFAULT_LOG = Path("hotline.db")
ALL_DEADLINES = datetime.max.replace(tzinfo=UTC)


@dataclass
class Hotline:
    log: EmbeddedLog
    policy: Policy
    _projector: Projector | None = field(default=None, init=False, repr=False)
    _projector_end: int = field(default=-1, init=False, repr=False)

    @classmethod
    def open(cls, log_path: Path = DEFAULT_LOG, policy_path: Path | None = None) -> Hotline:
        return cls(EmbeddedLog(log_path), load_policy(policy_path))

    def state(self, as_of: datetime | None = None, upto_offset: int | None = None) -> State:
        """The projections at event time `as_of` (all facts when None), from what the log held up to
        `upto_offset` (record time; everything when None). Everything-known questions start from the
        log's checkpoints; a record-time audit folds the log's prefix from the start, as it was."""
        if upto_offset is not None:
            return project(self.log.read(upto_offset), self.policy, as_of)
        # None: every deadline too, as `project(facts)` does
        return self.projector().state_at(ALL_DEADLINES if as_of is None else as_of)

    def projector(self) -> Projector:
        """The projector over the log, resumed from its newest sound checkpoint (kept in the log file)."""
        end = self.log.end_offset()
        if self._projector is None or self._projector_end != end:  # facts were appended meanwhile
            self._projector, self._projector_end = resume_over_log(self.log, self.policy), end
        return self._projector

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
