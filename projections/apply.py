"""One handler per fact type: `apply(state, fact)`, called in event-time order by the fold.

The handlers live in `apply_<concept>` modules; the table is built here once, at import, so the
fold's dispatch stays one dict lookup per fact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections import quarterly, sla, tiers
from projections.admission_facts import raising_with
from projections.apply_accounts import account_opened, certificate_granted, company_registered, rating_issued
from projections.apply_calls import call_received
from projections.apply_cases import case_closed, case_opened, case_support_stopped, case_transferred
from projections.apply_codes import codes_deadline, codes_result
from projections.apply_devices import device_installed, maintenance_agreed
from projections.apply_penalties import penalty_lifted, rectification, warning_issued
from projections.apply_suspicions import suspect
from projections.apply_violations import (
    exam_result,
    violation_annulled,
    violation_confirmed,
    violation_dismissed,
    violation_reported,
)
from projections.state import State
from schemas import facts as f

__all__ = ["HANDLERS", "codes_deadline"]  # what the fold imports from here

HANDLERS: dict[type, Callable[[State, Any], None]] = {
    f.CompanyRegistered: company_registered,
    f.RatingIssued: rating_issued,
    f.AccountOpened: account_opened,
    f.CertificateGranted: certificate_granted,
    f.DeviceInstalled: device_installed,
    f.MaintenanceAgreed: maintenance_agreed,
    f.CallReceived: call_received,
    f.CaseOpened: case_opened,
    f.CaseTransferred: case_transferred,
    f.CaseClosed: case_closed,
    f.CaseSupportStopped: case_support_stopped,
    f.ViolationReported: violation_reported,
    f.ViolationConfirmed: violation_confirmed,
    f.CertificateExamResult: exam_result,
    f.ViolationDismissed: violation_dismissed,
    f.BarcodeCodesResult: codes_result,
    f.WarningIssued: warning_issued,
    f.PenaltyLifted: penalty_lifted,
    f.ViolationAnnulled: violation_annulled,
    f.RectificationSubmitted: rectification,
    f.RectificationAccepted: rectification,
}


# --- seeds 002 and 004: SLA clocks, calls per quarter, the installed base by company -----------------
# The rules' handlers above stay as they are; these wrap three of them with the service projections.
HANDLERS.update(
    {
        f.CallReceived: quarterly.counting_calls(call_received),
        f.CaseOpened: sla.timing(case_opened),
        f.DeviceInstalled: tiers.indexing(device_installed),
        f.CaseResponded: sla.responded,
        f.CaseAwaitingPartner: sla.awaiting_partner,
        f.CasePartnerReplied: sla.partner_replied,
        f.CustomerAssigned: tiers.customer_assigned,
    }
)

# --- the line's own refusals (issue 9): a barcode mismatch found at admission raises the suspicion ----
HANDLERS[f.AdmissionRefused] = raising_with(suspect)
