"""BARCODE-MISMATCH (codes deadline), the two barcode swaps (the installed base decides), BARCODE-REUSE."""

from __future__ import annotations

import pytest

from projections.view import penalty_status

from .builders import (
    NUMBER,
    blacklisted,
    call,
    case,
    codes,
    confirm,
    device,
    fold,
    maintenance,
    penalty_ids,
    report,
    t,
    world,
)

CONFIRMED = "2025-08-24T10:00"
DEADLINE = "2025-08-31T10:00"  # confirmation + 7 days


def _mismatch(extra=()) -> list:
    facts = world() + [
        call("call1", "2025-08-24T08:00", model="M9", case_id="K1"),
        case("K1", "call1", "2025-08-24T08:05"),
        report("R1", "BARCODE-MISMATCH", "2025-08-24T09:00", call_id="call1", case_id="K1"),
        confirm("R1", CONFIRMED),
    ]
    return facts + list(extra)


def test_mismatch_stops_support_and_requests_codes():
    state = fold(_mismatch(), as_of=CONFIRMED)
    assert state.violations["R1"].rule == "BARCODE-MISMATCH"
    stop = state.support_stops["R1/support"]
    assert (stop.case_id, stop.at, stop.reason) == ("K1", t(CONFIRMED), "BARCODE-MISMATCH")
    request = state.codes_requests["R1"]
    assert request.deadline == t(DEADLINE)
    assert request.result is None
    assert penalty_ids(state) == set()


def test_no_codes_penalty_starts_exactly_at_the_deadline():
    state = fold(_mismatch())
    for kind, subject in (("account", "a1"), ("number", NUMBER)):
        p = state.penalties[f"R1/{kind}"]
        assert (p.subject, p.at, p.until) == (subject, t(DEADLINE), t("2026-02-28T10:00"))
    assert state.codes_requests["R1"].result == "deadline passed"
    assert not blacklisted(state, "account", "a1", "2025-08-31T09:59")
    assert blacklisted(state, "account", "a1", DEADLINE)
    assert penalty_ids(state) == {"R1/account", "R1/number"}  # one mismatch: no company penalty


def test_before_the_deadline_no_penalty_yet():
    before = fold(_mismatch(), as_of="2025-08-31T09:59")
    assert penalty_ids(before) == set()
    assert before.codes_requests["R1"].result is None
    at = fold(_mismatch(), as_of=DEADLINE)
    assert penalty_ids(at) == {"R1/account", "R1/number"}
    assert at.penalties["R1/account"].at == t(DEADLINE)


def test_refusal_on_day_three_starts_at_the_refusal():
    state = fold(_mismatch([codes("R1", "2025-08-27T10:00", "refused")]))
    for kind in ("account", "number"):
        p = state.penalties[f"R1/{kind}"]
        assert (p.at, p.until) == (t("2025-08-27T10:00"), t("2026-02-27T10:00"))
    assert penalty_ids(state) == {"R1/account", "R1/number"}
    assert state.codes_requests["R1"].result == "refused"
    assert not blacklisted(state, "account", "a1", "2025-08-27T09:59")


def test_codes_provided_no_penalty():
    state = fold(_mismatch([codes("R1", "2025-08-26T10:00", "provided")]))
    assert penalty_ids(state) == set()
    assert state.codes_requests["R1"].result == "provided"
    assert not blacklisted(state, "account", "a1", "2025-09-15T10:00")
    # support stays stopped all the same
    assert "R1/support" in state.support_stops


def test_codes_provided_after_the_deadline_do_not_undo_the_penalty():
    state = fold(_mismatch([codes("R1", "2025-09-02T10:00", "provided")]))
    assert state.penalties["R1/account"].at == t(DEADLINE)
    assert state.anomalies


# --- swaps -----------------------------------------------------------------------------------------
SWAP_CONFIRMED = "2025-08-31T10:00"


def _swap(
    rid: str,
    reported_rule: str,
    confirmed: str = SWAP_CONFIRMED,
    device_b: str = "BCB",
    occurred: str | None = None,
) -> list:
    call_id = f"call-{rid}"
    return [
        call(call_id, confirmed.replace("T10:00", "T08:00"), case_id=f"K-{rid}"),
        case(f"K-{rid}", call_id, confirmed.replace("T10:00", "T08:05")),
        report(
            rid,
            reported_rule,
            confirmed.replace("T10:00", "T09:00"),
            call_id=call_id,
            case_id=f"K-{rid}",
            device_barcode=device_b,
            occurred_at=occurred,
        ),
        confirm(rid, confirmed),
    ]


IN_WARRANTY_B = device("BCB", model="M2", customer="cu2", site="s2", warranty_end="2030-01-01")
OUT_OF_WARRANTY_B = device("BCB", model="M2", customer="cu2", site="s2", warranty_end="2024-01-01")


@pytest.mark.parametrize("reported", ["BARCODE-SWAP-IN-WARRANTY", "BARCODE-SWAP-OUT-OF-WARRANTY"])
def test_swap_in_warranty(reported):
    state = fold(world() + [IN_WARRANTY_B] + _swap("R1", reported))
    assert state.violations["R1"].rule == "BARCODE-SWAP-IN-WARRANTY"
    for kind, subject in (("account", "a1"), ("number", NUMBER)):
        p = state.penalties[f"R1/{kind}"]
        assert (p.subject, p.at, p.until) == (subject, t(SWAP_CONFIRMED), t("2026-02-28T10:00"))
    stop = state.support_stops["R1/support"]
    assert (stop.case_id, stop.at) == ("K-R1", t(SWAP_CONFIRMED))
    assert penalty_ids(state) == {"R1/account", "R1/number"}  # one swap in warranty: no company penalty


@pytest.mark.parametrize("reported", ["BARCODE-SWAP-IN-WARRANTY", "BARCODE-SWAP-OUT-OF-WARRANTY"])
def test_swap_out_of_warranty(reported):
    state = fold(world() + [OUT_OF_WARRANTY_B] + _swap("R1", reported))
    assert state.violations["R1"].rule == "BARCODE-SWAP-OUT-OF-WARRANTY"
    for kind, subject in (("account", "a1"), ("number", NUMBER)):
        p = state.penalties[f"R1/{kind}"]
        assert (p.subject, p.at, p.until) == (subject, t(SWAP_CONFIRMED), t("2026-02-28T10:00"))
    assert state.support_stops["R1/support"].case_id == "K-R1"
    company = state.penalties["R1/company"]
    assert (company.subject_kind, company.subject, company.at, company.until) == (
        "company",
        "co1",
        t(SWAP_CONFIRMED),
        None,
    )
    assert blacklisted(state, "company", "co1", "2035-01-01T10:00")


def test_swap_warranty_judged_when_it_happened_not_when_confirmed():
    b = device("BCB", model="M2", customer="cu2", site="s2", warranty_end="2025-08-15T00:00")
    state = fold(world() + [b] + _swap("R1", "BARCODE-SWAP-OUT-OF-WARRANTY", occurred="2025-08-10T10:00"))
    assert state.violations["R1"].rule == "BARCODE-SWAP-IN-WARRANTY"
    assert "R1/company" not in state.penalties


def test_maintenance_agreement_ends_the_out_of_warranty_company_blacklist():
    agreement = maintenance("co1", "cu2", "2026-05-20T15:00", id="M-1")
    state = fold(world() + [OUT_OF_WARRANTY_B] + _swap("R1", "BARCODE-SWAP-OUT-OF-WARRANTY") + [agreement])
    p = state.penalties["R1/company"]
    assert p.until is None
    assert p.ended_at == t("2026-05-20T15:00")
    assert p.ended_by == "M-1"
    assert p.end() == t("2026-05-20T15:00")
    assert blacklisted(state, "company", "co1", "2026-05-20T14:59")
    assert not blacklisted(state, "company", "co1", "2026-05-20T15:00")
    assert penalty_status(p, t("2026-06-01T10:00")) == "ended"
    # the engineer penalty is not ended by the agreement
    assert state.penalties["R1/account"].ended_at is None


@pytest.mark.parametrize(
    "agreement",
    [
        maintenance("co1", "cu1", "2026-05-20T15:00"),  # another customer of the company
        maintenance("co2", "cu2", "2026-05-20T15:00"),  # another company for this customer
        maintenance("co1", "cu2", "2025-08-01T15:00"),
    ],  # before the swap
)
def test_other_agreements_do_not_end_it(agreement):
    state = fold(world() + [OUT_OF_WARRANTY_B, agreement] + _swap("R1", "BARCODE-SWAP-OUT-OF-WARRANTY"))
    p = state.penalties["R1/company"]
    assert p.ended_at is None
    assert blacklisted(state, "company", "co1", "2027-01-01T10:00")


def test_one_agreement_ends_every_swap_on_that_customer():
    facts = world() + [OUT_OF_WARRANTY_B] + _swap("R1", "BARCODE-SWAP-OUT-OF-WARRANTY")
    facts += _swap("R2", "BARCODE-SWAP-OUT-OF-WARRANTY", confirmed="2025-10-31T10:00")
    facts.append(maintenance("co1", "cu2", "2026-01-05T10:00"))
    state = fold(facts)
    assert state.penalties["R1/company"].ended_at == t("2026-01-05T10:00")
    assert state.penalties["R2/company"].ended_at == t("2026-01-05T10:00")
    assert not blacklisted(state, "company", "co1", "2026-01-05T10:00")
