"""admit_call: may this call through? Every reason that holds, in the stable order of RULES.md."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from domain.detectors import barcode_mismatch
from domain.model import Account, Device
from domain.phone import as_subject
from domain.policy import Policy
from schemas.derived import AdmissionDecision, AllCertificatesRevoked, Penalty, Reason, RecordedCall
from schemas.facts import AdmissionRefused

#: The reason code of a barcode mismatch: the one refusal that also raises a suspicion (RULES.md).
MISMATCH = "barcode-mismatch"
#: The `source` of the facts the line writes about its own answers.
ADMISSION_SOURCE = "admission"

REASON_ORDER = (
    "unknown-account",
    "account-blacklisted",
    "number-blacklisted",
    "company-blacklisted",
    "certificates-permanently-revoked",
    "no-certificate",
    "company-not-rated",
    "unknown-barcode",
    MISMATCH,
)


class AdmissionView(Protocol):
    """The time-indexed questions admission asks of the projections."""

    def active_penalties(self, kind: str, subject: str, t: datetime) -> list[Penalty]: ...
    def account_at(self, account_id: str, t: datetime) -> Account | None: ...
    def permanent_revocation(self, account_id: str, t: datetime) -> AllCertificatesRevoked | None: ...
    def valid_certificates(self, account_id: str, product_line: str, t: datetime) -> list[str]: ...
    def rated(self, company_id: str, product_line: str, t: datetime) -> bool: ...
    def device(self, barcode: str) -> Device | None: ...


def _blacklisted(
    reasons: list[Reason], view: AdmissionView, code: str, kind: str, subject: str, t: datetime
) -> None:
    entries = view.active_penalties(kind, subject, t)
    if not entries:
        return
    permanent = any(p.end() is None for p in entries)
    until = "permanently" if permanent else f"until {max(p.end() for p in entries)}"  # type: ignore[type-var]
    ids = ", ".join(sorted(p.id for p in entries))
    reasons.append(Reason(code, f"{kind} {subject} is blacklisted {until} ({ids})"))


def admit_call(
    view: AdmissionView, request: RecordedCall, at: datetime, policy: Policy
) -> tuple[Reason, ...]:
    """The reasons to refuse the call at `at`; an empty tuple admits it. The number is looked up in
    E.164 whatever its spelling (a CallRequest holds it so already; a recorded one may not)."""
    reasons: list[Reason] = []
    account = view.account_at(request.account_id, at)
    if account is None:
        reasons.append(Reason("unknown-account", f"no engineer account {request.account_id}"))
    _blacklisted(reasons, view, "account-blacklisted", "account", request.account_id, at)
    _blacklisted(reasons, view, "number-blacklisted", "number", as_subject(request.number), at)
    if account is not None:
        _blacklisted(reasons, view, "company-blacklisted", "company", account.company_id, at)
        if (revoked := view.permanent_revocation(request.account_id, at)) is not None:
            reasons.append(
                Reason(
                    "certificates-permanently-revoked",
                    f"{len(revoked.revoked_certificate_ids)} certificates revoked, all revoked "
                    f"since {revoked.at.isoformat()}",
                )
            )
    device = view.device(request.barcode)
    if device is not None and account is not None:
        if not view.valid_certificates(request.account_id, device.product_line, at):
            reasons.append(Reason("no-certificate", f"no valid certificate for {device.product_line}"))
        if not view.rated(account.company_id, device.product_line, at):
            reasons.append(
                Reason(
                    "company-not-rated",
                    f"company {account.company_id} holds no rating of "
                    f"{policy.minimum_stars}+ stars for {device.product_line}",
                )
            )
    if device is None:
        reasons.append(Reason("unknown-barcode", f"barcode {request.barcode} is not in the installed base"))
    elif (request.stated_model != device.product_model or request.stated_site != device.site_id) and (
        what := barcode_mismatch(request.stated_model, request.stated_site, device)
    ):
        reasons.append(Reason(MISMATCH, what))
    return tuple(reasons)


def decided(
    request: RecordedCall,
    at: datetime,
    policy: Policy,
    reasons: tuple[Reason, ...],
    known_up_to: int,
    known_offsets: dict[int, int] | None = None,
) -> AdmissionDecision:
    """The record of an answer `admit_call` gave: a new id, admitted exactly when nothing refused it,
    and what the line knew (`known_up_to`, and on Kafka the offsets per partition)."""
    return AdmissionDecision(
        id=f"adm-{uuid.uuid4().hex}",
        at=at,
        policy_version=policy.version,
        request=request,
        admitted=not reasons,
        reasons=reasons,
        known_up_to=known_up_to,
        known_offsets=known_offsets or None,
    )


def refusal_fact(decision: AdmissionDecision) -> AdmissionRefused | None:
    """The fact a recorded answer adds to the facts when it refused on a barcode mismatch, so that the
    detectors read it (RULES.md: it raises a suspicion even when no call fact follows); None for every
    other answer. An unknown account has no one to suspect: no fact (its call would be refused at
    ingest too)."""
    codes = tuple(reason.code for reason in decision.reasons)
    if MISMATCH not in codes or "unknown-account" in codes:
        return None
    call = decision.request
    return AdmissionRefused(
        id=decision.id,
        at=decision.at,
        source=ADMISSION_SOURCE,
        account_id=call.account_id,
        number=call.number,
        barcode=call.barcode,
        stated_model=call.stated_model,
        stated_site=call.stated_site,
        reasons=codes,
    )
