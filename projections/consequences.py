"""Confirming a violation and applying what the policy says it causes.

An annulled violation is still worked through, so that the record shows what it would have caused,
but every consequence is marked annulled and none enters the indexes that later decisions read.
"""

from __future__ import annotations

from datetime import datetime

from domain import rules
from domain.policy import RulePolicy
from projections.state import Pending, State
from schemas.derived import (
    AllCertificatesRevoked,
    Anomaly,
    BlackKeyEvent,
    CertificateRevoked,
    CodesRequested,
    Penalty,
    RectificationPlan,
    SupportStopped,
    Violation,
    Warning,
)
from schemas.types import SubjectKind


def anomaly(state: State, fact_id: str, at: datetime, reason: str) -> None:
    state.effects += 1
    state.anomalies.append(
        Anomaly(
            id=f"anomaly:{fact_id}:{len(state.anomalies)}",
            at=at,
            policy_version=state.policy.version,
            causes=(fact_id,),
            fact_id=fact_id,
            reason=reason,
        )
    )


def confirm(
    state: State,
    pending: Pending,
    at: datetime,
    by: str,
    serious: bool | None = None,
    also: tuple[str, ...] = (),
) -> Violation | None:
    """The violation and its consequences, decided at `at`; None when the decision is held (below)."""
    state.effects += 1
    rule = pending.rule
    if rule in rules.SWAP_RULES and pending.device_barcode:
        device_b = state.devices.get(pending.device_barcode)
        if device_b is None:
            hold(state, pending, at, by, serious)
            return None
        rule = rules.swap_rule(device_b.warranty_end, pending.occurred_at)
    pending.status = "confirmed"
    account = state.accounts.get(pending.account_id)
    number = pending.number
    call = state.calls.get(pending.call_id) if pending.call_id else None
    if number is None and call is not None:
        number = call.number
    violation = Violation(
        id=pending.id,
        at=at,
        policy_version=state.policy.version,
        causes=(*pending.causes, by, *also),
        rule=rule,
        account_id=pending.account_id,
        number=number,
        company_id=account.company_id if account else None,
        occurred_at=pending.occurred_at,
        annulled_at=state.annulled.get(pending.id),
    )
    state.violations[violation.id] = violation
    policy = state.policy.rules[rule]
    serious = pending.serious if serious is None else serious
    case_id = pending.case_id or (call.case_id if call else None)
    _engineer(state, violation, policy, bool(serious))
    if policy.stop_support and case_id:
        stop = SupportStopped(
            id=f"{violation.id}/support",
            at=at,
            policy_version=violation.policy_version,
            causes=(violation.id,),
            case_id=case_id,
            reason=rule,
            annulled_at=violation.annulled_at,
        )
        state.support_stops[stop.id] = stop
    if policy.request_codes:
        request = CodesRequested(
            id=f"{violation.id}/codes",
            at=at,
            policy_version=violation.policy_version,
            causes=(violation.id,),
            violation_id=violation.id,
            deadline=at + state.policy.codes_deadline,
            annulled_at=violation.annulled_at,
        )
        state.codes_requests[violation.id] = request
        state.schedule(request.deadline, violation.id)
    if policy.revoke_certificate and pending.certificate_id:
        _revoke(state, violation, pending.certificate_id)
    if policy.black_key_event and violation.company_id:
        _black_key_event(state, violation, violation.company_id)
    if violation.company_id:
        _company(state, violation, policy, violation.company_id, pending)
    return violation


def hold(state: State, pending: Pending, at: datetime, by: str, serious: bool | None) -> None:
    """RULES.md "No silent guess": which swap rule applies depends on device B's warranty, and B is not
    in the installed base at the confirmation's event time. Neither outcome is guessed (out of
    warranty would blacklist the company with no end): the confirmation is held, an anomaly names it
    and what it waits for, and `release` takes the decision when B's installation takes effect."""
    barcode = pending.device_barcode or ""
    pending.status = "held"
    pending.held_at, pending.held_by, pending.held_serious = at, by, serious
    pending.held_for = ("barcode", barcode)
    state.held[barcode].append(pending.id)
    anomaly(
        state,
        by,
        at,
        f"{pending.id} ({pending.rule}): device B {barcode!r} is not in the installed base at "
        f"{at.isoformat()}; the decision is held until its device.installed takes effect",
    )


def release(state: State, barcode: str, fact_id: str, at: datetime) -> None:
    """Device `barcode` was just installed (fact `fact_id`, event time `at`): the confirmations held for
    it are decided now, at `at`, in the order they were held. The fold is in event time, so the
    decision is taken at the later of the confirmation and the installation, whatever the arrival
    order; penalties and counting windows run from then (what was shown in between stays shown)."""
    for pending_id in state.held.pop(barcode, ()):
        pending = state.pending[pending_id]
        confirm(
            state, pending, at, by=pending.held_by or fact_id, serious=pending.held_serious, also=(fact_id,)
        )


def impose(
    state: State,
    violation: Violation,
    kind: SubjectKind,
    subject: str,
    start: datetime,
    until: datetime | None,
    suffix: str = "",
    causes: tuple[str, ...] = (),
) -> Penalty:
    penalty = Penalty(
        id=f"{violation.id}/{kind}{suffix}",
        at=start,
        policy_version=violation.policy_version,
        causes=(violation.id, *causes),
        subject_kind=kind,
        subject=subject,
        rule=violation.rule,
        violation_id=violation.id,
        until=until,
        annulled_at=violation.annulled_at,
    )
    state.penalties[penalty.id] = penalty
    if penalty.annulled_at is None:
        state.blacklist[kind][subject].append(penalty)
        if kind == "account":
            state.account_blacklisted(subject)
    return penalty


def penalise_engineer(state: State, violation: Violation, policy: RulePolicy, start: datetime) -> None:
    """Every engineer penalty hits both the account and the number the violating call came from."""
    terms = state.policy if state.history.single else state.history.of_version(violation.policy_version)
    until = rules.engineer_penalty_end(policy, start, terms)
    impose(state, violation, "account", violation.account_id, start, until)
    if violation.number:
        impose(state, violation, "number", violation.number, start, until)


def _engineer(state: State, violation: Violation, policy: RulePolicy, serious: bool) -> None:
    warnings = state.account_warnings.get(violation.account_id, ())
    warned = any(w.rule == violation.rule and w.at <= violation.at for w in warnings)
    if rules.engineer_penalised_at_confirmation(policy, serious, warned):
        penalise_engineer(state, violation, policy, violation.at)
    elif policy.engineer_when == "after_warning":
        warning = Warning(
            id=f"{violation.id}/warning",
            at=violation.at,
            policy_version=violation.policy_version,
            causes=(violation.id,),
            account_id=violation.account_id,
            rule=violation.rule,
            annulled_at=violation.annulled_at,
        )
        record_warning(state, warning)


def record_warning(state: State, warning: Warning) -> None:
    state.warnings[warning.id] = warning
    if warning.annulled_at is None:
        state.account_warnings[warning.account_id].append(warning)


def _revoke(state: State, violation: Violation, certificate_id: str) -> None:
    cert = state.certificates.get(certificate_id)
    earlier = state.revocations.get(certificate_id)
    if cert is None:
        anomaly(
            state, violation.id, violation.at, f"certificate {certificate_id} is unknown: nothing revoked"
        )
        return
    if earlier is not None and earlier.annulled_at is None:
        return  # already revoked: a certificate counts once toward the three strikes
    revoked = CertificateRevoked(
        id=f"{violation.id}/revocation",
        at=violation.at,
        policy_version=violation.policy_version,
        causes=(violation.id,),
        certificate_id=certificate_id,
        account_id=cert.account_id,
        product_line=cert.product_line,
        violation_id=violation.id,
        annulled_at=violation.annulled_at,
    )
    if earlier is None or revoked.annulled_at is None:
        state.revocations[certificate_id] = revoked
    if revoked.annulled_at is not None:
        return
    tally = state.account_revocations[cert.account_id]
    tally.append(revoked)
    if len(tally) == state.policy.revocations_for_permanent and cert.account_id not in state.permanent:
        state.permanent[cert.account_id] = AllCertificatesRevoked(
            id=f"{cert.account_id}/all-certificates-revoked",
            at=violation.at,
            policy_version=violation.policy_version,
            causes=tuple(r.id for r in tally),
            account_id=cert.account_id,
            revoked_certificate_ids=tuple(r.certificate_id for r in tally),
        )


def _black_key_event(state: State, violation: Violation, company_id: str) -> None:
    version, void = violation.policy_version, violation.annulled_at
    event = BlackKeyEvent(
        id=f"{violation.id}/black-key",
        at=violation.at,
        policy_version=version,
        causes=(violation.id,),
        company_id=company_id,
        violation_id=violation.id,
        annulled_at=void,
    )
    state.black_key_events[event.id] = event
    plan = RectificationPlan(
        id=f"{violation.id}/plan",
        at=violation.at,
        policy_version=version,
        causes=(event.id,),
        company_id=company_id,
        violation_id=violation.id,
        due=violation.at + state.policy.rectification_deadline,
        annulled_at=void,
    )
    state.plans[plan.id] = plan
    _count(
        state,
        violation,
        company_id,
        rules.BLACK_KEY_COUNTER,
        state.policy.black_key_company_months,
        "-black-key",
    )


def _company(
    state: State, violation: Violation, policy: RulePolicy, company_id: str, pending: Pending
) -> None:
    kind = policy.company_penalty
    if kind == "each":
        until = rules.company_penalty_end(policy.company_months, violation.at, state.policy)
        impose(state, violation, "company", company_id, violation.at, until)
    elif kind == "repeat":
        _count(state, violation, company_id, violation.rule, policy.company_months, "")
    elif kind == "until_maintenance":
        penalty = impose(state, violation, "company", company_id, violation.at, None)
        device_b = state.devices.get(pending.device_barcode or "")
        if device_b is not None and penalty.annulled_at is None:
            state.awaiting_maintenance[(company_id, device_b.customer_id)].append(penalty)


def _count(
    state: State, violation: Violation, company_id: str, counter: str, months: int | None, suffix: str
) -> None:
    occurrences = state.occurrences[(company_id, counter)]
    partner = rules.repeat_partner(occurrences, violation.at, state.policy)
    if partner is not None:
        until = rules.company_penalty_end(months, violation.at, state.policy)
        impose(state, violation, "company", company_id, violation.at, until, suffix, causes=(partner,))
    if violation.annulled_at is None:
        occurrences.append((violation.at, violation.id))
