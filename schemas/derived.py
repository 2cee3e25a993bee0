"""Derived events: what the rules concluded. Each records the policy version and the ids of its causes.

Derived ids are deterministic functions of their causes, so the same facts always derive the same
events, whatever the arrival order, and an operator can name them (to lift a penalty, say).
"""

from __future__ import annotations

import msgspec

from domain.phone import hold_in_e164
from schemas.types import Channel, Id, Instant, PhoneNumber, RuleId, SubjectKind


class Derived(msgspec.Struct, kw_only=True, tag_field="type", gc=False):
    id: str
    at: Instant
    policy_version: str
    causes: tuple[str, ...]


class Suspicion(Derived, tag="suspicion.raised"):
    rule: RuleId
    account_id: str
    number: str | None
    detector: str
    detail: str


class Violation(Derived, tag="violation.confirmed"):
    """A confirmed violation. `at` is the confirmation time, which starts penalties and windows."""

    rule: RuleId
    account_id: str
    number: str | None
    company_id: str | None
    occurred_at: Instant
    annulled_at: Instant | None = None


class Penalty(Derived, tag="penalty.imposed"):
    """A blacklist entry on one subject over [at, until); `until` None means permanent/open-ended."""

    subject_kind: SubjectKind
    subject: str
    rule: RuleId
    violation_id: str
    until: Instant | None
    lifted_at: Instant | None = None  # clemency
    ended_at: Instant | None = None  # ended by a condition, e.g. a maintenance agreement
    ended_by: str | None = None  # the fact that met the condition
    annulled_at: Instant | None = None

    def end(self) -> Instant | None:
        """When the entry stops covering its subject: the earliest of its natural end, lift and ending."""
        ends = [t for t in (self.until, self.lifted_at, self.ended_at) if t is not None]
        return min(ends) if ends else None

    def covers(self, t: Instant) -> bool:
        if self.annulled_at is not None or t < self.at:
            return False
        end = self.end()
        return end is None or t < end


class CertificateRevoked(Derived, tag="certificate.revoked"):
    certificate_id: str
    account_id: str
    product_line: str
    violation_id: str
    annulled_at: Instant | None = None


class AllCertificatesRevoked(Derived, tag="certificates.permanently_revoked"):
    account_id: str
    revoked_certificate_ids: tuple[str, ...]


class BlackKeyEvent(Derived, tag="company.black_key_event"):
    company_id: str
    violation_id: str
    annulled_at: Instant | None = None


class RectificationPlan(Derived, tag="rectification.required"):
    company_id: str
    violation_id: str
    due: Instant
    submitted_at: Instant | None = None
    accepted_at: Instant | None = None
    annulled_at: Instant | None = None


class SupportStopped(Derived, tag="case.support_stopped"):
    case_id: str
    reason: str
    annulled_at: Instant | None = None


class CodesRequested(Derived, tag="barcode.codes_requested"):
    violation_id: str
    deadline: Instant
    result: str | None = None
    result_at: Instant | None = None
    annulled_at: Instant | None = None


class Warning(Derived, tag="warning.recorded"):
    account_id: str
    rule: RuleId
    annulled_at: Instant | None = None


class Anomaly(Derived, tag="anomaly"):
    """A fact the rules could not use (e.g. a confirmation of an unknown report); kept for the audit."""

    fact_id: str
    reason: str


class RecordedCall(msgspec.Struct, frozen=True, kw_only=True):
    """A call request as an admission decision recorded it. Decoded as it was stored: a decision from
    before numbers were normalised holds the number as the caller wrote it, and still reads."""

    account_id: Id
    number: PhoneNumber
    barcode: Id
    stated_model: Id
    stated_site: Id
    channel: Channel = "partner"
    at: Instant | None = None


class CallRequest(RecordedCall, frozen=True, kw_only=True):
    """What call routing asks: may this call through? `number` in any spelling, held in E.164; an
    invalid one is refused, naming the field (`- at $.number`, as msgspec names a field)."""

    def __post_init__(self) -> None:
        hold_in_e164(self)


class Reason(msgspec.Struct, frozen=True):
    code: str
    detail: str


class AdmissionDecision(msgspec.Struct, kw_only=True, tag_field="type", tag="admission.decided"):
    """What the line answered at the time, with what it knew then; never rewritten later."""

    id: str
    at: Instant
    policy_version: str
    request: RecordedCall  # a CallRequest when made; decoded leniently, as recorded
    admitted: bool
    reasons: tuple[Reason, ...]
    known_up_to: int  # embedded: the log offset the answer was based on; Kafka: the facts it held
    # Kafka: partition -> next offset of the facts topic behind the answer (record time, per partition)
    known_offsets: dict[int, int] | None = None


class SlaBreach(Derived, tag="case.sla_breached"):
    """A case's service-level target passed unmet (seed 002). `at` is the instant it passed: the opening
    plus the target plus the time spent waiting on the partner before then."""

    case_id: str
    company_id: str | None
    fault_level: str
    target: str  # "response" | "resolution"
