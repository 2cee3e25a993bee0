"""Input facts: what the CRM and the call centre tell us. Immutable, versioned, tagged by `type`.

Every fact has an `id` (unique; a re-sent fact with the same id and content is a no-op), an event
time `at` (when it happened in the world, with a UTC offset) and a `source` (which system sent it).
`v` is the schema version of the fact's type; older versions are upcast at the edge (schemas.upcast).

Phone numbers (`number`) are E.164 from v2 on (RULES.md: one phone number, one subject): decoding a
v2 fact normalises whatever spelling it carries (`13415323691` -> `+8613415323691`) and refuses an
invalid number, naming the field. A v1 fact (stored before v2) is upcast as it is decoded: see
`_number_in_e164`, which is why reading an old log needs no slow path.
"""

from __future__ import annotations

from typing import Union

import msgspec
from msgspec import UNSET, UnsetType

from domain.phone import PhoneNumberError, hold_in_e164, normalise
from schemas.types import Channel, CodesResult, FaultLevel, Id, Instant, PhoneNumber, RuleId, Stars, Text


class Fact(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", gc=False, forbid_unknown_fields=True):
    """Immutable and acyclic, so kept out of the garbage collector: a large replay allocates millions."""

    id: Id
    at: Instant
    source: Id
    v: int = 1
    # A sealed log's ciphertext of the fact's personal fields (privacy.sealing), set by the line when it
    # seals, never by a sender. UNSET is not encoded: a clear fact's bytes are what they always were.
    sealed: str | UnsetType = UNSET


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
E164_VERSION = 2  # the version of a fact type that carries a `number` from which it is E.164


def _number_in_e164(fact: CallReceived | ViolationReported) -> None:
    """The v1 -> v2 upcast, done as the fact is decoded, so the MessagePack and JSON fast paths that
    decode a whole batch at once upcast old records too: the number in E.164.

    A v2 fact with an invalid number is refused (at ingest; none is ever stored). A v1 fact is a record
    from an old log: one whose number is not valid keeps it as written, stays v1 (the fold records an
    anomaly for it) and never stops a read. Parsing is cached (domain.phone), so a replay pays it once
    per distinct number."""
    number = fact.number
    if number is not None:
        try:
            e164 = normalise(number)
        except PhoneNumberError as err:
            if fact.v >= E164_VERSION:
                raise ValueError(f"{err} - at `$.number`") from None  # the field, as msgspec names it
            return
        if e164 != number:
            msgspec.structs.force_setattr(fact, "number", e164)
    if fact.v < E164_VERSION:
        msgspec.structs.force_setattr(fact, "v", E164_VERSION)


class CallReceived(Fact, frozen=True, kw_only=True, tag="call.received"):
    """A call; its `id` is the call id. `at` is when it started. `number`: E.164 (any spelling in)."""

    v: int = E164_VERSION
    account_id: Id
    number: PhoneNumber
    barcode: Id
    stated_model: Id
    stated_site: Id
    problem: Text
    channel: Channel = "partner"
    ended_at: Instant | None = None
    case_id: Id | None = None

    def __post_init__(self) -> None:
        _number_in_e164(self)


class AdmissionRefused(Fact, frozen=True, kw_only=True, tag="admission.refused"):
    """Written by the line itself when admission refuses a call on a barcode mismatch, so that the
    detectors see it even when no call fact follows (RULES.md). `id`: the decision's; `at`: the call's
    time asked about; `reasons`: the decision's codes, for the audit (the fold judges anew)."""

    account_id: Id
    number: PhoneNumber
    barcode: Id
    stated_model: Id
    stated_site: Id
    reasons: tuple[Id, ...]

    def __post_init__(self) -> None:
        hold_in_e164(self)


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


class ViolationReported(Fact, frozen=True, kw_only=True, tag="violation.reported"):
    """Staff report a suspected violation; its `id` becomes the violation id once confirmed."""

    v: int = E164_VERSION
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

    def __post_init__(self) -> None:
        _number_in_e164(self)


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


# --- service levels and the installed base (seeds 002 and 004) --------------------------------------
class CaseResponded(Fact, frozen=True, tag="case.responded"):
    """The line's first contact with the partner on the case (a complaint: the first reply with a
    handling opinion). Stops the response clock; later responses change nothing."""

    case_id: Id
    note: Text = ""


class CaseAwaitingPartner(Fact, frozen=True, tag="case.awaiting_partner"):
    """The case waits on the partner (information, access, a test): its SLA clocks pause from `at`."""

    case_id: Id
    note: Text = ""


class CasePartnerReplied(Fact, frozen=True, tag="case.partner_replied"):
    """The partner answered what the case waited for: its SLA clocks run again from `at`."""

    case_id: Id
    note: Text = ""


class CustomerAssigned(Fact, frozen=True, tag="customer.assigned"):
    """The company is the partner of record for the customer's installed base from `at` (seed 004:
    its priority tier counts these devices); a later assignment of the customer replaces it."""

    customer_id: Id
    company_id: Id


# The order of this union is also the order in which facts of the same instant apply (RANK):
# reference data, then activity, then reports, then judgements and corrections.
AnyFact = Union[  # noqa: UP007 (a long union reads better as a list)
    CompanyRegistered,
    RatingIssued,
    AccountOpened,
    CertificateGranted,
    DeviceInstalled,
    MaintenanceAgreed,
    AdmissionRefused,  # the answer precedes the call it answers: at one instant, the call sees it
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
    CaseResponded,
    CaseAwaitingPartner,
    CasePartnerReplied,
    CustomerAssigned,
]
FACT_TYPES: tuple[type[Fact], ...] = AnyFact.__args__  # type: ignore[attr-defined]
TAG_OF: dict[type[Fact], str] = {t: t.__struct_config__.tag for t in FACT_TYPES}  # type: ignore[misc]
TYPE_OF_TAG: dict[str, type[Fact]] = {tag: t for t, tag in TAG_OF.items()}
RANK: dict[type[Fact], int] = {t: i for i, t in enumerate(FACT_TYPES)}
#: The facts of a support case's life: its opening, transfers, closing and SLA steps.
CASE_FACTS: frozenset[type[Fact]] = frozenset(
    {CaseOpened, CaseTransferred, CaseClosed, CaseResponded, CaseAwaitingPartner, CasePartnerReplied}
)
