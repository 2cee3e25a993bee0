"""Corrections never rewrite history: annulment voids a violation and everything derived from it, from the
start; a lift ends a penalty at the lift time and what happened while it was in force still counts."""

from __future__ import annotations

import random

from projections.view import digest, penalty_status, plan_status, snapshot

from .builders import (
    NUMBER,
    OTHER_NUMBER,
    annul,
    blacklisted,
    call,
    confirm,
    device,
    exam,
    fold,
    lift,
    penalty_ids,
    period,
    rating,
    report,
    staff,
    t,
    world,
)
from .builders import cert as certificate


def _staff(rid: str, rule: str, confirmed: str, **kw) -> list:
    return [
        report(rid, rule, confirmed.replace("T10:00", "T09:00"), number=NUMBER, **kw),
        confirm(rid, confirmed),
    ]


def _two_mismatches() -> list:
    return (
        world()
        + _staff("R1", "BARCODE-MISMATCH", "2025-01-31T10:00")
        + _staff("R2", "BARCODE-MISMATCH", "2025-03-31T10:00")
    )


# --- annulment -------------------------------------------------------------------------------------
def test_annulling_the_second_mismatch_removes_the_company_penalty_it_completed():
    facts = _two_mismatches() + [annul("R2", "2025-05-10T10:00")]
    state = fold(facts)
    assert state.violations["R2"].annulled_at == t("2025-05-10T10:00")
    assert state.penalties["R2/company"].annulled_at == t("2025-05-10T10:00")
    assert not blacklisted(state, "company", "co1", "2025-04-01T10:00")
    assert [v for _, v in state.occurrences[("co1", "BARCODE-MISMATCH")]] == ["R1"]
    assert state.violations["R1"].annulled_at is None
    # R1's own consequences stand: its engineer penalty from its codes deadline
    assert (state.penalties["R1/account"].at, state.penalties["R1/account"].until) == (
        t("2025-02-07T10:00"),
        t("2025-08-07T10:00"),
    )
    assert state.penalties["R1/account"].annulled_at is None
    # R2's engineer penalty (codes deadline 7 Apr) is void too
    assert state.penalties["R2/account"].annulled_at == t("2025-05-10T10:00")
    assert {p.id for p in state.active_penalties("account", "a1", t("2025-04-08T10:00"))} == {"R1/account"}


def test_annulled_entries_stay_visible():
    state = fold(_two_mismatches() + [annul("R2", "2025-05-10T10:00")])
    snap = snapshot(state, t("2025-05-11T10:00"))
    statuses = {e.penalty.id: e.status for e in snap.blacklist}
    assert statuses["R2/company"] == "annulled"
    assert statuses["R2/account"] == "annulled"
    assert statuses["R1/account"] == "in force"
    assert penalty_status(state.penalties["R2/company"], t("2025-04-01T10:00")) == "annulled"
    assert "R2" in {v.id for v in snap.violations}
    assert state.codes_requests["R2"].annulled_at == t("2025-05-10T10:00")


def test_as_of_before_the_annulment_still_shows_the_penalty():
    facts = _two_mismatches() + [annul("R2", "2025-05-10T10:00")]
    before = fold(facts, as_of="2025-05-10T09:59")
    p = before.penalties["R2/company"]
    assert p.annulled_at is None
    assert (p.at, p.until) == (t("2025-03-31T10:00"), t("2025-09-30T10:00"))
    assert blacklisted(before, "company", "co1", "2025-04-01T10:00")
    assert before.violations["R2"].annulled_at is None
    after = fold(facts, as_of="2025-05-10T10:00")
    assert after.penalties["R2/company"].annulled_at == t("2025-05-10T10:00")


def test_annulling_the_first_mismatch_also_removes_the_company_penalty():
    state = fold(_two_mismatches() + [annul("R1", "2025-05-10T10:00")])
    assert penalty_ids(state) & {"R1/company", "R2/company"} == set()
    assert not blacklisted(state, "company", "co1", "2025-04-01T10:00")
    assert [v for _, v in state.occurrences[("co1", "BARCODE-MISMATCH")]] == ["R2"]


def test_annulling_the_middle_of_three_leaves_the_third_penalty():
    facts = _two_mismatches() + _staff("R3", "BARCODE-MISMATCH", "2025-05-31T10:00")
    facts.append(annul("R2", "2025-06-10T10:00"))
    state = fold(facts)
    company = {pid for pid in penalty_ids(state) if pid.endswith("/company")}
    assert company == {"R3/company"}
    assert (state.penalties["R3/company"].at, state.penalties["R3/company"].until) == (
        t("2025-05-31T10:00"),
        t("2025-11-30T10:00"),
    )
    assert not blacklisted(state, "company", "co1", "2025-04-01T10:00")


def _blacklist_then_evasion() -> list:
    return (
        world()
        + _staff("R1", "ACCOUNT-SHARED", "2025-01-31T10:00")
        + [call("c2", "2025-02-10T15:00", number=OTHER_NUMBER)]
    )


def test_annulling_removes_the_evasion_derived_from_its_blacklist():
    facts = _blacklist_then_evasion() + [annul("R1", "2025-03-01T10:00")]
    state = fold(facts)
    assert state.violations["R1"].annulled_at == t("2025-03-01T10:00")
    assert state.penalties["R1/account"].annulled_at == t("2025-03-01T10:00")
    assert state.penalties["R1/number"].annulled_at == t("2025-03-01T10:00")
    evasion = state.violations.get("evasion:c2")
    assert evasion is None or evasion.annulled_at is not None
    company = state.penalties.get("evasion:c2/company")
    assert company is None or company.annulled_at is not None
    assert not blacklisted(state, "account", "a1", "2025-02-10T15:00")
    assert not blacklisted(state, "company", "co1", "2025-02-10T15:00")
    assert penalty_ids(state) == set()
    # before the annulment the evasion and its company penalty were there
    before = fold(facts, as_of="2025-02-28T10:00")
    assert before.violations["evasion:c2"].annulled_at is None
    assert blacklisted(before, "company", "co1", "2025-02-10T15:00")


def test_annulling_an_impersonation_voids_its_warning():
    def imp(rid: str, at: str) -> list:
        return [
            report(rid, "CUSTOMER-IMPERSONATION", at.replace("T10:00", "T09:00"), number=NUMBER),
            confirm(rid, at),
        ]

    facts = world() + imp("R1", "2025-01-31T10:00") + imp("R2", "2025-03-31T10:00")
    assert penalty_ids(fold(facts)) == {"R2/account", "R2/number"}
    state = fold(facts + [annul("R1", "2025-05-01T10:00")])
    assert state.warnings["R1/warning"].annulled_at == t("2025-05-01T10:00")
    assert penalty_ids(state) == set()
    assert state.warnings["R2/warning"].annulled_at is None


def test_annulling_a_cert_fraud_restores_the_certificate_and_the_strike():
    facts = world() + [certificate("c2", "a1"), certificate("c3", "a1")]
    for rid, cid, at in (
        ("R1", "cert-a1", "2025-01-31T10:00"),
        ("R2", "c2", "2025-03-31T10:00"),
        ("R3", "c3", "2025-05-31T10:00"),
    ):
        facts += [
            report(rid, "CERT-FRAUD", at.replace("T10:00", "T09:00"), certificate_id=cid),
            exam(cid, at),
        ]
    assert "a1" in fold(facts).permanent
    assert "R2/company-black-key" in penalty_ids(fold(facts))
    state = fold(facts + [annul("R2", "2025-07-01T10:00")])
    assert "a1" not in state.permanent
    assert state.valid_certificates("a1", "L1", t("2025-07-02T10:00")) == ["c2"]
    assert state.black_key_events["R2/black-key"].annulled_at == t("2025-07-01T10:00")
    assert plan_status(state.plans["R2/plan"], t("2025-07-02T10:00")) == "annulled"
    # black key events R1 and R3 are four months apart: R3 completes a company penalty instead of R2
    company = {pid for pid in penalty_ids(state) if "/company" in pid}
    assert company == {"R3/company-black-key"}


def test_annulling_an_out_of_warranty_swap_voids_the_open_ended_company_blacklist():
    b = device("BCB", model="M2", customer="cu2", site="s2", warranty_end="2024-01-01")
    facts = (
        world() + [b] + _staff("R1", "BARCODE-SWAP-OUT-OF-WARRANTY", "2025-01-31T10:00", device_barcode="BCB")
    )
    state = fold(facts + [annul("R1", "2025-02-10T10:00")])
    assert state.penalties["R1/company"].annulled_at == t("2025-02-10T10:00")
    assert not blacklisted(state, "company", "co1", "2025-02-01T10:00")


# --- lift ------------------------------------------------------------------------------------------
def test_lift_keeps_what_happened_while_in_force():
    facts = _blacklist_then_evasion() + [
        lift("R1/account", "2025-02-20T10:00"),
        call("c3", "2025-02-25T10:00", number="+8613800000003"),
    ]
    state = fold(facts)
    p = state.penalties["R1/account"]
    assert p.lifted_at == t("2025-02-20T10:00")
    assert p.end() == t("2025-02-20T10:00")
    assert p.until == t("2025-04-30T10:00")  # the record keeps the imposed end
    assert penalty_status(p, t("2025-02-21T10:00")) == "lifted"
    # the evasion during the penalty still counts
    assert state.violations["evasion:c2"].annulled_at is None
    company = state.penalties["evasion:c2/company"]
    assert (company.at, company.until, company.annulled_at) == (
        t("2025-02-10T15:00"),
        t("2025-08-10T15:00"),
        None,
    )
    assert blacklisted(state, "company", "co1", "2025-06-01T10:00")
    # after the lift the account is no longer blacklisted, and calling from elsewhere is no evasion
    assert blacklisted(state, "account", "a1", "2025-02-20T09:59")
    assert not blacklisted(state, "account", "a1", "2025-02-20T10:00")
    assert "evasion:c3" not in state.violations
    # only the lifted entry ends: the number stays blacklisted
    assert blacklisted(state, "number", NUMBER, "2025-03-01T10:00")


def test_lifting_a_permanent_penalty_ends_it():
    facts = (
        world()
        + _staff("R1", "ABUSIVE-CONDUCT", "2025-01-31T10:00")
        + [lift("R1/account", "2027-01-01T10:00")]
    )
    state = fold(facts)
    assert blacklisted(state, "account", "a1", "2026-12-31T10:00")
    assert not blacklisted(state, "account", "a1", "2027-01-01T10:00")
    assert blacklisted(state, "number", NUMBER, "2030-01-01T10:00")


def test_lift_as_of_before_the_lift_still_in_force():
    facts = _blacklist_then_evasion() + [lift("R1/account", "2025-02-20T10:00")]
    before = fold(facts, as_of="2025-02-20T09:59")
    assert before.penalties["R1/account"].lifted_at is None
    assert blacklisted(before, "account", "a1", "2025-03-01T10:00")


def test_lift_of_an_unknown_penalty_is_an_anomaly():
    state = fold(world() + [lift("nope/account", "2025-02-20T10:00")])
    assert any(a.fact_id.startswith("lift-") for a in state.anomalies)


# --- determinism -----------------------------------------------------------------------------------
def test_same_facts_in_any_order_or_twice_give_the_same_projection():
    facts = (
        _blacklist_then_evasion()
        + _staff("R2", "BARCODE-MISMATCH", "2025-03-31T10:00")
        + [lift("R1/number", "2025-03-01T10:00"), annul("R2", "2025-06-01T10:00")]
    )
    as_of = t("2025-12-01T10:00")
    reference = digest(snapshot(fold(facts), as_of))
    rng = random.Random(7)
    for _ in range(5):
        shuffled = facts + facts[: len(facts) // 2]
        rng.shuffle(shuffled)
        assert digest(snapshot(fold(shuffled), as_of)) == reference


def test_a_fact_that_breaks_a_rule_is_quarantined_and_the_fold_goes_on() -> None:
    """RULES.md: nothing that passes the edge may stop the fold. A rating issued in year 9999 cannot
    get its one-year end (there is no year 10000): it is quarantined with an anomaly naming it, and an
    ACCOUNT-SHARED confirmed afterwards in the log still blacklists for 3 months."""
    facts = [
        *world(),
        rating("co1", "L1", 3, "9999-03-01T10:00", id="far-future"),
        *staff("R1", "ACCOUNT-SHARED", "2025-03-01T09:00", "2025-03-01T10:00", number=NUMBER),
    ]
    state = fold(facts)
    quarantined = [a for a in state.anomalies if a.fact_id == "far-future"]
    assert len(quarantined) == 1
    assert quarantined[0].reason.startswith("quarantined: applying it failed with ValueError: year 10000")
    assert period(state, "R1/account") == (t("2025-03-01T10:00"), t("2025-06-01T10:00"))
    assert len(digest(snapshot(state, None))) == 64  # the views and the digest read past it too
