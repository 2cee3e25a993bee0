"""Input facts: what the CRM and the call centre tell us. Immutable, versioned, tagged by `type`.

Every fact has an `id` (unique; a re-sent fact with the same id and content is a no-op), an event
time `at` (when it happened in the world, with a UTC offset) and a `source` (which system sent it).
`v` is the schema version of the fact's type; older versions are upcast at the edge (schemas.upcast).
"""

from __future__ import annotations

from typing import Union

import msgspec

from schemas.types import Channel, CodesResult, FaultLevel, Id, Instant, PhoneNumber, RuleId, Stars, Text


class Fact(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", gc=False, forbid_unknown_fields=True):
    """Immutable and acyclic, so kept out of the garbage collector: a large replay allocates millions."""

    id: Id
    at: Instant
    source: Id
    v: int = 1


# --- CRM -------------------------------------------------------------------------------------------
class CompanyRegistered(Fact, frozen=True, tag="company.registered"):
    company_id: Id
    name: Text


class RatingIssued(Fact, frozen=True, tag="rating.issued"):
    """A star rating for one product line; valid one calendar year from `at`."""

    company_id: Id
    product_line: Id
    stars: Stars
    applied_on: Instant | None = None
    certificate_ids: tuple[Id, ...] = ()


class AccountOpened(Fact, frozen=True, tag="account.opened"):
    account_id: Id
    company_id: Id
    person_id: Id
    authorised: bool = True


class CertificateGranted(Fact, frozen=True, tag="certificate.granted"):
    """A job certificate, valid from `at` until `valid_until`."""

    certificate_id: Id
    account_id: Id
    product_line: Id
    valid_until: Instant


class CertificateExamResult(Fact, frozen=True, tag="certificate.exam"):
    """The specially arranged exam; a failure confirms a pending CERT-FRAUD report on the certificate."""

    certificate_id: Id
    account_id: Id
    passed: bool


class DeviceInstalled(Fact, frozen=True, tag="device.installed"):
    barcode: Id
    product_model: Id
    product_line: Id
    customer_id: Id
    site_id: Id
    warranty_end: Instant


class MaintenanceAgreed(Fact, frozen=True, tag="maintenance.agreed"):
    """Ends the company penalties of out-of-warranty swaps on this customer's devices."""

    company_id: Id
    customer_id: Id


# --- call centre -----------------------------------------------------------------------------------
class CallReceived(Fact, frozen=True, tag="call.received"):
    """A call; its `id` is the call id. `at` is when it started."""

    account_id: Id
    number: PhoneNumber
    barcode: Id
    stated_model: Id
    stated_site: Id
    problem: Text
    channel: Channel = "partner"
    ended_at: Instant | None = None
    case_id: Id | None = None


class CaseOpened(Fact, frozen=True, tag="case.opened"):
    case_id: Id
    call_id: Id
    account_id: Id
    barcode: Id
    fault_level: FaultLevel
    problem: Text = ""


class CaseTransferred(Fact, frozen=True, tag="case.transferred"):
    case_id: Id
    to_account_id: Id | None = None
    note: Text = ""


class CaseClosed(Fact, frozen=True, tag="case.closed"):
    case_id: Id


class CaseSupportStopped(Fact, frozen=True, tag="case.support_stopped"):
    """Support stopped by staff outside any rule (rules stop support themselves)."""

    case_id: Id
    reason: Text


class ViolationReported(Fact, frozen=True, tag="violation.reported"):
    """Staff report a suspected violation; its `id` becomes the violation id once confirmed."""

    rule: RuleId
    account_id: Id
    number: PhoneNumber | None = None
    call_id: Id | None = None
    case_id: Id | None = None
    certificate_id: Id | None = None
    device_barcode: Id | None = None  # device B of a barcode swap
    serious: bool | None = None  # OTHER-IRREGULAR only
    occurred_at: Instant | None = None
    note: Text = ""


class ViolationConfirmed(Fact, frozen=True, tag="violation.confirmed"):
    """Confirms a report or a detector suspicion; the violation's time is this fact's `at`."""

    violation_id: Id
    serious: bool | None = None
    note: Text = ""


class ViolationDismissed(Fact, frozen=True, tag="violation.dismissed"):
    violation_id: Id
    note: Text = ""


class BarcodeCodesResult(Fact, frozen=True, tag="barcode.codes"):
    """The engineer provided, or refused, the plain and hidden codes asked for after a mismatch."""

    violation_id: Id
    result: CodesResult


class WarningIssued(Fact, frozen=True, tag="warning.issued"):
    account_id: Id
    rule: RuleId
    note: Text = ""


class PenaltyLifted(Fact, frozen=True, tag="penalty.lifted"):
    """Clemency: the penalty ends at `at`; what happened while it was in force still counts."""

    penalty_id: Id
    reason: Text = ""


class ViolationAnnulled(Fact, frozen=True, tag="violation.annulled"):
    """The violation was false: it and everything it caused are void from the start."""

    violation_id: Id
    reason: Text = ""


class RectificationSubmitted(Fact, frozen=True, tag="rectification.submitted"):
    plan_id: Id


class RectificationAccepted(Fact, frozen=True, tag="rectification.accepted"):
    plan_id: Id


# The order of this union is also the order in which facts of the same instant apply (RANK):
# reference data, then activity, then reports, then judgements and corrections.
AnyFact = Union[  # noqa: UP007 (a long union reads better as a list)
    CompanyRegistered,
    RatingIssued,
    AccountOpened,
    CertificateGranted,
    DeviceInstalled,
    MaintenanceAgreed,
    CallReceived,
    CaseOpened,
    CaseTransferred,
    CaseClosed,
    CaseSupportStopped,
    ViolationReported,
    ViolationConfirmed,
    CertificateExamResult,
    ViolationDismissed,
    BarcodeCodesResult,
    WarningIssued,
    PenaltyLifted,
    ViolationAnnulled,
    RectificationSubmitted,
    RectificationAccepted,
]
FACT_TYPES: tuple[type[Fact], ...] = AnyFact.__args__  # type: ignore[attr-defined]
TAG_OF: dict[type[Fact], str] = {t: t.__struct_config__.tag for t in FACT_TYPES}  # type: ignore[misc]
TYPE_OF_TAG: dict[str, type[Fact]] = {tag: t for t, tag in TAG_OF.items()}
RANK: dict[type[Fact], int] = {t: i for i, t in enumerate(FACT_TYPES)}
