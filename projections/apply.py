"""One handler per fact type: `apply(state, fact)`, called in event-time order by the fold."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from domain.model import Account, Certificate, Device
from projections import quarterly, sla, tiers
from projections.admission_facts import raising_with
from projections.consequences import anomaly, confirm, penalise_engineer, record_warning, release
from projections.numbers import kept_as_written
from projections.state import CallRef, Case, Pending, State
from schemas import facts as f
from schemas.derived import Suspicion, Warning
from schemas.types import RuleId

ZERO = timedelta(0)


def _company(state: State, fact: f.CompanyRegistered) -> None:
    state.companies[fact.company_id] = fact.name


def _rating(state: State, fact: f.RatingIssued) -> None:
    state.add_rating(fact)


def _account(state: State, fact: f.AccountOpened) -> None:
    state.accounts[fact.account_id] = Account(
        fact.account_id, sys.intern(fact.company_id), fact.person_id, state.shared(fact.at), fact.authorised
    )
    others = state.person_accounts[fact.person_id]
    if not fact.authorised and state.policy.detectors.get("evasion"):
        blocking = [p.id for other in others for p in state.active_penalties("account", other, fact.at)]
        if blocking:
            _suspect(
                state,
                f"evasion:{fact.id}",
                "evasion",
                "BLACKLIST-EVASION",
                fact.account_id,
                None,
                fact.at,
                f"account opened without permission while {blocking[0]} is in force",
                (fact.id, *blocking),
            )
    others.append(fact.account_id)
    state.account_listed(fact.person_id, fact.account_id)


def _certificate(state: State, fact: f.CertificateGranted) -> None:
    state.certificates[fact.certificate_id] = Certificate(
        fact.certificate_id,
        fact.account_id,
        sys.intern(fact.product_line),
        state.shared(fact.at),
        state.shared(fact.valid_until),
    )
    state.account_certificates[fact.account_id].append(state.certificates[fact.certificate_id])


def _device(state: State, fact: f.DeviceInstalled) -> None:
    intern = sys.intern  # model, line, customer and site repeat across millions of devices
    state.devices[fact.barcode] = device = Device(
        intern(fact.product_model),
        intern(fact.product_line),
        intern(fact.customer_id),
        intern(fact.site_id),
        state.shared(fact.warranty_end),
    )
    state.detectors.device_installed(fact.barcode, device)
    if fact.barcode in state.held:  # confirmations of swaps that waited for this device B
        release(state, fact.barcode, fact.id, fact.at)


def _maintenance(state: State, fact: f.MaintenanceAgreed) -> None:
    for penalty in state.awaiting_maintenance.pop((fact.company_id, fact.customer_id), ()):
        penalty.ended_at, penalty.ended_by = fact.at, fact.id


def _call(state: State, fact: f.CallReceived) -> None:
    if fact.v < f.E164_VERSION:  # an old record with an invalid number, kept as written
        kept_as_written(state, fact)
    state.calls[fact.id] = CallRef(fact.number, fact.case_id)
    if fact.account_id in state.evasion_watch and fact.channel == "partner":
        _evasion(state, fact)
    for finding in state.detectors.observe(fact, state.devices):
        _suspect(
            state,
            f"{finding.detector}:{fact.id}",
            finding.detector,
            finding.rule,
            fact.account_id,
            fact.number,
            fact.at,
            finding.detail,
            finding.causes,
            call_id=fact.id,
            case_id=fact.case_id,
        )


def _evasion(state: State, call: f.CallReceived) -> None:
    """A blacklisted engineer (this account, or another of the same person) on a number not blacklisted.

    Runs only on calls of accounts in `state.evasion_watch` (every account evasion can find); the
    usual answer there is still none, reached with the fewest lookups."""
    accounts = state.blacklist["account"]
    account_id = call.account_id
    blocking = state.active_penalties("account", account_id, call.at) if account_id in accounts else None
    if not blocking:
        account = state.accounts.get(account_id)
        if account is None:
            return
        siblings = state.person_accounts.get(account.person_id, ())
        if len(siblings) < 2:  # most people have one account: nothing more to look at
            return
        blocking = [
            penalty
            for other in siblings
            if other != account_id and other in accounts
            for penalty in state.active_penalties("account", other, call.at)
        ]
        if not blocking:
            return
    if not state.active_penalties("number", call.number, call.at):
        ids = tuple(p.id for p in blocking)
        _suspect(
            state,
            f"evasion:{call.id}",
            "evasion",
            "BLACKLIST-EVASION",
            call.account_id,
            call.number,
            call.at,
            f"called from {call.number} while {ids[0]} is in force",
            (call.id, *ids),
            call_id=call.id,
        )


def _suspect(
    state: State,
    sid: str,
    detector: str,
    rule: RuleId,
    account_id: str,
    number: str | None,
    at: datetime,
    detail: str,
    causes: tuple[str, ...],
    **refs: Any,
) -> None:
    state.effects += 1
    state.suspicions[sid] = Suspicion(
        id=sid,
        at=at,
        policy_version=state.policy.version,
        causes=causes,
        rule=rule,
        account_id=account_id,
        number=number,
        detector=detector,
        detail=detail,
    )
    pending = Pending(
        id=sid,
        rule=rule,
        account_id=account_id,
        number=number,
        raised_at=at,
        occurred_at=at,
        origin=detector,
        causes=causes,
        **refs,
    )
    state.pending[sid] = pending
    if state.policy.detectors[detector].auto_confirm:
        confirm(state, pending, at, by=sid)


def _case_opened(state: State, fact: f.CaseOpened) -> None:
    respond = state.policy.response_times.get(fact.fault_level, ZERO)
    state.cases[fact.case_id] = Case(
        fact.at, fact.account_id, fact.barcode, fact.fault_level, fact.at + respond
    )
    state.detectors.case_opened(fact.case_id, fact.problem, fact.id)


def _case_transferred(state: State, fact: f.CaseTransferred) -> None:
    if (case := _case(state, fact.case_id, fact)) is not None:
        case.transfers += (fact.id,)


def _case_closed(state: State, fact: f.CaseClosed) -> None:
    if (case := _case(state, fact.case_id, fact)) is not None:
        case.closed_at = fact.at


def _case_stopped(state: State, fact: f.CaseSupportStopped) -> None:
    from schemas.derived import SupportStopped

    state.support_stops[fact.id] = SupportStopped(
        id=fact.id,
        at=fact.at,
        policy_version=state.policy.version,
        causes=(fact.id,),
        case_id=fact.case_id,
        reason=fact.reason,
    )


def _case(state: State, case_id: str, fact: f.Fact) -> Case | None:
    case = state.cases.get(case_id)
    if case is None:
        anomaly(state, fact.id, fact.at, f"case {case_id} was never opened")
    return case


def _reported(state: State, fact: f.ViolationReported) -> None:
    if fact.v < f.E164_VERSION:  # an old record with an invalid number, kept as written
        kept_as_written(state, fact)
    pending = Pending(
        id=fact.id,
        rule=fact.rule,
        account_id=fact.account_id,
        number=fact.number,
        raised_at=fact.at,
        occurred_at=fact.occurred_at or fact.at,
        origin="report",
        causes=(fact.id,),
        call_id=fact.call_id,
        case_id=fact.case_id,
        certificate_id=fact.certificate_id,
        device_barcode=fact.device_barcode,
        serious=fact.serious,
    )
    state.pending[fact.id] = pending
    if fact.rule == "CERT-FRAUD" and fact.certificate_id:
        state.fraud_reports[fact.certificate_id].append(fact.id)


def _open_pending(state: State, violation_id: str, fact: f.Fact) -> Pending | None:
    pending = state.pending.get(violation_id)
    if pending is None:
        anomaly(state, fact.id, fact.at, f"no report or suspicion {violation_id}")
    elif pending.status != "open":
        anomaly(state, fact.id, fact.at, f"{violation_id} is already {pending.status}")
    else:
        return pending
    return None


def _confirmed(state: State, fact: f.ViolationConfirmed) -> None:
    if (pending := _open_pending(state, fact.violation_id, fact)) is None:
        return
    if pending.rule == "CERT-FRAUD":
        anomaly(state, fact.id, fact.at, "CERT-FRAUD is confirmed by a failed certificate exam, not by staff")
        return
    confirm(state, pending, fact.at, by=fact.id, serious=fact.serious)


def _exam(state: State, fact: f.CertificateExamResult) -> None:
    reports = [state.pending[r] for r in state.fraud_reports.get(fact.certificate_id, ())]
    open_reports = [p for p in reports if p.status == "open"]
    if not open_reports:
        anomaly(state, fact.id, fact.at, f"no CERT-FRAUD report pending on {fact.certificate_id}")
    for pending in open_reports:
        if fact.passed:
            pending.status = "dismissed"
        else:
            confirm(state, pending, fact.at, by=fact.id)


def _dismissed(state: State, fact: f.ViolationDismissed) -> None:
    if (pending := _open_pending(state, fact.violation_id, fact)) is not None:
        pending.status = "dismissed"


def _codes(state: State, fact: f.BarcodeCodesResult) -> None:
    request = state.codes_requests.get(fact.violation_id)
    if request is None:
        anomaly(state, fact.id, fact.at, f"no barcode codes were requested for {fact.violation_id}")
    elif request.result is not None or fact.at > request.deadline:
        anomaly(state, fact.id, fact.at, f"codes for {fact.violation_id} came after the deadline or twice")
    else:
        request.result, request.result_at = fact.result, fact.at
        if fact.result == "refused":
            _codes_not_provided(state, fact.violation_id, fact.at)


def codes_deadline(state: State, violation_id: str) -> None:
    """Scheduled at the deadline: no codes by then is a refusal, starting at the deadline."""
    request = state.codes_requests[violation_id]
    if request.result is None:
        request.result, request.result_at = "deadline passed", request.deadline
        _codes_not_provided(state, violation_id, request.deadline)


def _codes_not_provided(state: State, violation_id: str, at: datetime) -> None:
    violation = state.violations[violation_id]
    # the terms of the violation's own version, even when a later one is in force by now
    terms = state.policy if state.history.single else state.history.of_version(violation.policy_version)
    penalise_engineer(state, violation, terms.rules[violation.rule], at)


def _warning(state: State, fact: f.WarningIssued) -> None:
    record_warning(
        state,
        Warning(
            id=fact.id,
            at=fact.at,
            policy_version=state.policy.version,
            causes=(fact.id,),
            account_id=fact.account_id,
            rule=fact.rule,
        ),
    )


def _lifted(state: State, fact: f.PenaltyLifted) -> None:
    penalty = state.penalties.get(fact.penalty_id)
    if penalty is None or penalty.annulled_at is not None or fact.at < penalty.at:
        anomaly(state, fact.id, fact.at, f"no penalty {fact.penalty_id} in force to lift")
    elif penalty.lifted_at is None:
        penalty.lifted_at = fact.at


def _annulled(state: State, fact: f.ViolationAnnulled) -> None:
    """Annulments were collected before the fold; the violation's consequences were born void."""


def _plan(state: State, fact: f.RectificationSubmitted | f.RectificationAccepted) -> None:
    plan = state.plans.get(fact.plan_id)
    if plan is None or plan.annulled_at is not None:
        anomaly(state, fact.id, fact.at, f"no rectification plan {fact.plan_id} required")
    elif isinstance(fact, f.RectificationSubmitted):
        plan.submitted_at = plan.submitted_at or fact.at
    elif plan.submitted_at is None:
        anomaly(state, fact.id, fact.at, f"plan {fact.plan_id} accepted before it was submitted")
    else:
        plan.accepted_at = plan.accepted_at or fact.at


HANDLERS: dict[type, Callable[[State, Any], None]] = {
    f.CompanyRegistered: _company,
    f.RatingIssued: _rating,
    f.AccountOpened: _account,
    f.CertificateGranted: _certificate,
    f.DeviceInstalled: _device,
    f.MaintenanceAgreed: _maintenance,
    f.CallReceived: _call,
    f.CaseOpened: _case_opened,
    f.CaseTransferred: _case_transferred,
    f.CaseClosed: _case_closed,
    f.CaseSupportStopped: _case_stopped,
    f.ViolationReported: _reported,
    f.ViolationConfirmed: _confirmed,
    f.CertificateExamResult: _exam,
    f.ViolationDismissed: _dismissed,
    f.BarcodeCodesResult: _codes,
    f.WarningIssued: _warning,
    f.PenaltyLifted: _lifted,
    f.ViolationAnnulled: _annulled,
    f.RectificationSubmitted: _plan,
    f.RectificationAccepted: _plan,
}


# --- seeds 002 and 004: SLA clocks, calls per quarter, the installed base by company -----------------
# The rules' handlers above stay as they are; these wrap three of them with the service projections.
HANDLERS.update(
    {
        f.CallReceived: quarterly.counting_calls(_call),
        f.CaseOpened: sla.timing(_case_opened),
        f.DeviceInstalled: tiers.indexing(_device),
        f.CaseResponded: sla.responded,
        f.CaseAwaitingPartner: sla.awaiting_partner,
        f.CasePartnerReplied: sla.partner_replied,
        f.CustomerAssigned: tiers.customer_assigned,
    }
)

# --- the line's own refusals (issue 9): a barcode mismatch found at admission raises the suspicion ----
HANDLERS[f.AdmissionRefused] = raising_with(_suspect)
