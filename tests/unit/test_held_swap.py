"""RULES.md "No silent guess": a barcode swap confirmed before device B is in the installed base is held,
never decided out of warranty by default; it is decided when B's installation takes effect.

Dates by hand from RULES.md: a violation's time is the moment it is decided; the engineer penalty of
either swap rule is 6 calendar months from then; out of warranty, the company is blacklisted with no end
until a maintenance agreement for B's customer. A held decision is taken at B's installation time.
"""

from __future__ import annotations

from projections.checkpoint import freeze, thaw
from projections.explain import explain
from projections.fold import apply_in_order
from projections.view import snapshot
from schemas.codec import normalise

from .builders import (
    NUMBER,
    POLICY,
    annul,
    blacklisted,
    call,
    case,
    confirm,
    device,
    fold,
    maintenance,
    penalty_ids,
    report,
    t,
    world,
)

CONFIRMED = "2025-08-31T10:00"
INSTALLED = "2025-09-15T10:00"  # device B enters the installed base two weeks after the confirmation


def swap(rule: str = "BARCODE-SWAP-OUT-OF-WARRANTY") -> list:
    return [
        call("call-R1", "2025-08-31T08:00", case_id="K-R1"),
        case("K-R1", "call-R1", "2025-08-31T08:05"),
        report("R1", rule, "2025-08-31T09:00", call_id="call-R1", case_id="K-R1", device_barcode="BCB"),
        confirm("R1", CONFIRMED, id="CONF-R1"),
    ]


def device_b(warranty_end: str, at: str = INSTALLED) -> object:
    return device("BCB", model="M2", customer="cu2", site="s2", warranty_end=warranty_end, at=at, id="DEV-B")


def test_swap_confirmed_before_b_is_installed_is_held_with_an_anomaly_and_no_blacklist() -> None:
    state = fold(world() + swap())
    assert penalty_ids(state) == set()  # neither the company nor the engineer: nothing is guessed
    assert "R1" not in state.violations
    assert not blacklisted(state, "company", "co1", "2030-01-01T10:00")
    [anomaly] = state.anomalies
    assert anomaly.fact_id == "CONF-R1" and anomaly.at == t(CONFIRMED)
    assert "R1" in anomaly.reason and "'BCB'" in anomaly.reason
    [held] = snapshot(state, None).held
    assert (held.violation_id, held.held_at, held.confirmed_by, held.waiting_for) == (
        "R1",
        t(CONFIRMED),
        "CONF-R1",
        "barcode BCB",
    )
    links = explain(state, "company", "co1", None).chain
    assert [(link.kind, link.id, link.status) for link in links] == [("held", "R1", "held")]


def test_b_installed_later_in_warranty_gives_the_in_warranty_outcome_from_its_installation() -> None:
    state = fold(world() + swap() + [device_b(warranty_end="2030-01-01")])
    violation = state.violations["R1"]
    assert (violation.rule, violation.at) == ("BARCODE-SWAP-IN-WARRANTY", t(INSTALLED))
    assert violation.causes == ("R1", "CONF-R1", "DEV-B")
    for kind, subject in (("account", "a1"), ("number", NUMBER)):
        p = state.penalties[f"R1/{kind}"]
        assert (p.subject, p.at, p.until) == (subject, t(INSTALLED), t("2026-03-15T10:00"))
    assert state.support_stops["R1/support"].at == t(INSTALLED)
    assert penalty_ids(state) == {"R1/account", "R1/number"}  # one swap in warranty: no company penalty
    assert snapshot(state, None).held == []
    # what was true in between stays true: held, nobody blacklisted
    before = fold(world() + swap() + [device_b(warranty_end="2030-01-01")], as_of="2025-09-15T09:59")
    assert penalty_ids(before) == set() and [h.violation_id for h in snapshot(before, None).held] == ["R1"]


def test_b_installed_later_out_of_warranty_blacklists_the_company_with_the_maintenance_way_out() -> None:
    agreement = maintenance("co1", "cu2", "2026-01-10T10:00", id="M-1")
    state = fold(
        world() + swap("BARCODE-SWAP-IN-WARRANTY") + [device_b(warranty_end="2024-01-01"), agreement]
    )
    assert state.violations["R1"].rule == "BARCODE-SWAP-OUT-OF-WARRANTY"
    company = state.penalties["R1/company"]
    assert (company.subject, company.at, company.until) == ("co1", t(INSTALLED), None)
    assert (company.ended_at, company.ended_by) == (t("2026-01-10T10:00"), "M-1")
    assert blacklisted(state, "company", "co1", "2026-01-10T09:59")
    assert not blacklisted(state, "company", "co1", "2026-01-10T10:00")
    p = state.penalties["R1/account"]
    assert (p.at, p.until) == (t(INSTALLED), t("2026-03-15T10:00"))


def test_b_installed_at_the_confirmation_instant_is_known_then_nothing_is_held() -> None:
    state = fold(world() + swap() + [device_b(warranty_end="2030-01-01", at=CONFIRMED)])
    assert state.violations["R1"].at == t(CONFIRMED)
    assert state.anomalies == [] and snapshot(state, None).held == []


def test_a_held_decision_takes_further_judgements_as_anomalies_and_an_annulment_voids_it() -> None:
    again = confirm("R1", "2025-09-01T10:00", id="CONF-AGAIN")
    voided = annul("R1", "2025-09-05T10:00", id="ANNUL-R1")
    state = fold(world() + swap() + [again, voided, device_b(warranty_end="2024-01-01")])
    assert [(a.fact_id, "already held" in a.reason) for a in state.anomalies] == [
        ("CONF-R1", False),
        ("CONF-AGAIN", True),
    ]
    assert state.violations["R1"].annulled_at == t("2025-09-05T10:00")
    assert penalty_ids(state) == set()  # born void: nothing enters the blacklist
    assert not blacklisted(state, "company", "co1", "2026-01-01T10:00")


def test_a_checkpoint_keeps_what_is_held_and_the_thawed_state_releases_it() -> None:
    held = fold(world() + swap())
    thawed, _, _ = thaw(freeze(held, None, 0), POLICY)
    assert dict(thawed.held) == {"BCB": ["R1"]}
    apply_in_order(thawed, [normalise(device_b(warranty_end="2030-01-01"))])
    assert thawed.violations["R1"].rule == "BARCODE-SWAP-IN-WARRANTY"
    assert thawed.penalties["R1/account"].at == t(INSTALLED)
