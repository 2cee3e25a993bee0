"""Handlers of reported violations: reported, confirmed or dismissed, a certificate exam, annulled."""

from __future__ import annotations

from projections.consequences import anomaly, confirm
from projections.numbers import kept_as_written
from projections.state import Pending, State
from schemas import facts as f


def violation_reported(state: State, fact: f.ViolationReported) -> None:
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


def violation_confirmed(state: State, fact: f.ViolationConfirmed) -> None:
    if (pending := _open_pending(state, fact.violation_id, fact)) is None:
        return
    if pending.rule == "CERT-FRAUD":
        anomaly(state, fact.id, fact.at, "CERT-FRAUD is confirmed by a failed certificate exam, not by staff")
        return
    confirm(state, pending, fact.at, by=fact.id, serious=fact.serious)


def exam_result(state: State, fact: f.CertificateExamResult) -> None:
    reports = [state.pending[r] for r in state.fraud_reports.get(fact.certificate_id, ())]
    open_reports = [p for p in reports if p.status == "open"]
    if not open_reports:
        anomaly(state, fact.id, fact.at, f"no CERT-FRAUD report pending on {fact.certificate_id}")
    for pending in open_reports:
        if fact.passed:
            pending.status = "dismissed"
        else:
            confirm(state, pending, fact.at, by=fact.id)


def violation_dismissed(state: State, fact: f.ViolationDismissed) -> None:
    if (pending := _open_pending(state, fact.violation_id, fact)) is not None:
        pending.status = "dismissed"


def violation_annulled(state: State, fact: f.ViolationAnnulled) -> None:
    """Annulments were collected before the fold; the violation's consequences were born void."""
