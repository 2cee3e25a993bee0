"""The use cases, wired once: read the log, fold, answer. The CLI (and later the HTTP API) call these."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from domain.admission import admit_call, decided, refusal_fact
from domain.phone import as_subject
from domain.policy import Policy
from domain.policy_history import PolicyHistory, as_history, load_policies
from privacy.pseudonyms import number_pseudonym
from projections.audit import AuditRow, audit
from projections.fold import project
from projections.projector import Projector
from projections.state import State
from projections.view import Snapshot, digest, snapshot
from schemas.derived import AdmissionDecision, CallRequest
from storage.keystore import KeyStore
from storage.log import EmbeddedLog, LogBusy, LogWriteError
from storage.resume import resume_over_log

DEFAULT_LOG = Path("hotline.db")
ALL_DEADLINES = datetime.max.replace(tzinfo=UTC)


class DecisionNotRecorded(Exception):
    """The answer was computed but could not be written to the log (locked past the busy timeout,
    read-only, disk full). What the line did must stay on record, so this is an error, not a reply."""

    def __init__(self, path: Path, decision: AdmissionDecision, cause: Exception) -> None:
        answer = "admitted" if decision.admitted else "refused"
        why = "locked by another writer past the busy timeout" if isinstance(cause, LogBusy) else str(cause)
        super().__init__(f"the answer ({answer}) could not be recorded on {path}: {why}; ask again")
        self.decision = decision


@dataclass
class Hotline:
    log: EmbeddedLog
    history: PolicyHistory
    keys: KeyStore | None = field(default=None, repr=False)  # a sealed log's key store (docs/privacy.md)
    _projector: Projector | None = field(default=None, init=False, repr=False)
    _projector_end: int = field(default=-1, init=False, repr=False)

    @classmethod
    def open(cls, log_path: Path = DEFAULT_LOG, policy_paths: Sequence[Path] = ()) -> Hotline:
        return cls(EmbeddedLog(log_path), load_policies(policy_paths))

    @classmethod
    def of(cls, log: EmbeddedLog, policy: Policy | PolicyHistory) -> Hotline:
        return cls(log, as_history(policy))

    @property
    def policy(self) -> Policy:
        """The newest version: its zone and labels are what people read."""
        return self.history.latest

    def state(self, as_of: datetime | None = None, upto_offset: int | None = None) -> State:
        """The projections at event time `as_of` (all facts when None), from what the log held up to
        `upto_offset` (record time; everything when None). Everything-known questions start from the
        log's checkpoints; a record-time audit folds the log's prefix from the start, as it was."""
        if upto_offset is not None:
            return project(self.log.read(upto_offset), self.history, as_of)
        # None: every deadline too, as `project(facts)` does
        return self.projector().state_at(ALL_DEADLINES if as_of is None else as_of)

    def projector(self) -> Projector:
        """The projector over the log, resumed from its newest sound checkpoint (kept in the log file)."""
        end = self.log.end_offset()
        if self._projector is None or self._projector_end != end:  # facts were appended meanwhile
            self._projector, self._projector_end = resume_over_log(self.log, self.history), end
        return self._projector

    def snapshot(self, as_of: datetime | None = None, upto_offset: int | None = None) -> Snapshot:
        return snapshot(self.state(as_of, upto_offset), as_of)

    def replay_digest(
        self, as_of: datetime | None = None, upto_offset: int | None = None
    ) -> tuple[str, Snapshot]:
        snap = self.snapshot(as_of, upto_offset)
        return digest(snap), snap

    def check(self, request: CallRequest, record: bool = True) -> AdmissionDecision:
        """Answer "may this call through?" with what the log holds now, and record the answer
        (DecisionNotRecorded when it cannot be: an answer off the record is not given)."""
        at = request.at or datetime.now(UTC)
        request = self.subject_of(request)
        known_up_to = self.log.end_offset()
        state = self.state(as_of=at)
        in_force = self.history.at(at)  # the version in force when the call comes in
        reasons = admit_call(state, request, at, in_force)
        decision = decided(request, at, in_force, reasons, known_up_to)
        if record:
            refused = refusal_fact(decision)  # a mismatch raises its suspicion, call fact or not
            try:
                self.log.record_decision(decision, () if refused is None else (refused,))
            except (sqlite3.Error, LogWriteError) as e:
                raise DecisionNotRecorded(self.log.path, decision, e) from None
        return decision

    def subject_of(self, request: CallRequest) -> CallRequest:
        """The request as the rules see it: on a sealed log, its number is the number's pseudonym, which
        is also what its decision records."""
        if self.keys is None:
            return request
        asked = self.keys.number_asked(request.number, request.account_id)
        return msgspec.structs.replace(request, number=asked)

    def number_subject(self, number: str) -> str:
        """A number as the projections hold it: E.164, or on a sealed log its pseudonym."""
        e164 = as_subject(number)
        return e164 if self.keys is None else number_pseudonym(self.keys.pepper, e164)

    def audit_decisions(self) -> list[AuditRow]:
        """Each recorded decision beside the answer to its request with everything known now, under
        the version in force at the decision's own time."""
        return audit(self.state(), self.log.decisions(), self.history.at)
