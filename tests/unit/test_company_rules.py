"""Company consequences: monotonic counters (two within one year), black key events, rectification plans,
BLACKLIST-EVASION (6 months each)."""

from __future__ import annotations

from projections.view import plan_status, snapshot

from .builders import (
    NUMBER,
    accepted,
    blacklisted,
    call,
    case,
    confirm,
    device,
    exam,
    fold,
    penalty_ids,
    rating,
    report,
    submitted,
    t,
    world,
)


def _staff(rid: str, rule: str, confirmed: str, **kw) -> list:
    return [
        report(rid, rule, confirmed.replace("T10:00", "T09:00"), number=NUMBER, **kw),
        confirm(rid, confirmed),
    ]


def _company_penalties(state) -> dict:
    return {
        pid: (p.at, p.until)
        for pid, p in state.penalties.items()
        if p.subject_kind == "company" and p.annulled_at is None
    }


# --- repeat counters -------------------------------------------------------------------------------
def test_two_mismatches_within_a_year_blacklist_the_company_six_months():
    facts = world() + _staff("R1", "BARCODE-MISMATCH", "2025-01-31T10:00")
    facts += _staff("R2", "BARCODE-MISMATCH", "2025-08-31T10:00")
    state = fold(facts)
    assert _company_penalties(state) == {"R2/company": (t("2025-08-31T10:00"), t("2026-02-28T10:00"))}
    p = state.penalties["R2/company"]
    assert (p.subject, p.rule, p.violation_id) == ("co1", "BARCODE-MISMATCH", "R2")
    assert [v for _, v in state.occurrences[("co1", "BARCODE-MISMATCH")]] == ["R1", "R2"]


def test_one_mismatch_is_no_company_penalty():
    state = fold(world() + _staff("R1", "BARCODE-MISMATCH", "2025-01-31T10:00"))
    assert _company_penalties(state) == {}


def test_counters_are_per_rule():
    b = device("BCB", model="M2", customer="cu2", site="s2", warranty_end="2030-01-01")
    facts = world() + [b] + _staff("R1", "BARCODE-MISMATCH", "2025-01-31T10:00")
    facts += _staff("R2", "BARCODE-SWAP-IN-WARRANTY", "2025-02-28T10:00", device_barcode="BCB")
    state = fold(facts)
    assert _company_penalties(state) == {}


def test_counters_are_per_company():
    facts = world() + world(("b1",), company_id="co2")
    facts += _staff("R1", "BARCODE-MISMATCH", "2025-01-31T10:00")
    facts += [
        report("R2", "BARCODE-MISMATCH", "2025-02-28T09:00", account_id="b1", number="+8613900000009"),
        confirm("R2", "2025-02-28T10:00"),
    ]
    state = fold(facts)
    assert _company_penalties(state) == {}


def test_three_swaps_in_warranty_within_a_year_two_penalties_merged():
    b = device("BCB", model="M2", customer="cu2", site="s2", warranty_end="2030-01-01")
    facts = world() + [b]
    for rid, at in (("R1", "2025-01-31T10:00"), ("R2", "2025-03-31T10:00"), ("R3", "2025-05-31T10:00")):
        facts += _staff(rid, "BARCODE-SWAP-IN-WARRANTY", at, device_barcode="BCB")
    state = fold(facts)
    assert _company_penalties(state) == {
        "R2/company": (t("2025-03-31T10:00"), t("2025-09-30T10:00")),
        "R3/company": (t("2025-05-31T10:00"), t("2025-11-30T10:00")),
    }
    assert not blacklisted(state, "company", "co1", "2025-03-31T09:59")
    for at in ("2025-03-31T10:00", "2025-05-31T10:00", "2025-09-30T10:00", "2025-11-30T09:59"):
        assert blacklisted(state, "company", "co1", at)
    assert not blacklisted(state, "company", "co1", "2025-11-30T10:00")
    # nothing is used up: a fourth within a year of the third gives a third penalty
    facts += _staff("R4", "BARCODE-SWAP-IN-WARRANTY", "2026-05-01T10:00", device_barcode="BCB")
    state = fold(facts)
    assert state.penalties["R4/company"].until == t("2026-11-01T10:00")


def test_company_counter_view_counts_the_rolling_year():
    facts = world() + _staff("R1", "BARCODE-MISMATCH", "2025-01-31T10:00")
    facts += _staff("R2", "BARCODE-MISMATCH", "2025-08-31T10:00")
    snap = snapshot(fold(facts), t("2026-01-31T10:00"))
    (counter,) = [c for c in snap.company_counters if c.counter == "BARCODE-MISMATCH"]
    assert (counter.company_id, counter.in_rolling_year, counter.violation_ids) == ("co1", 1, ["R2"])


# --- BLACKLIST-EVASION (staff-reported) ------------------------------------------------------------
def test_evasion_blacklists_the_company_six_months_and_not_the_engineer():
    state = fold(world() + _staff("R1", "BLACKLIST-EVASION", "2025-08-31T10:00"))
    assert _company_penalties(state) == {"R1/company": (t("2025-08-31T10:00"), t("2026-02-28T10:00"))}
    assert penalty_ids(state) == {"R1/company"}


# --- black key events ------------------------------------------------------------------------------
def _fraud(rid: str, cert_id: str, failed_at: str, account: str = "a1") -> list:
    return [
        report(
            rid,
            "CERT-FRAUD",
            failed_at.replace("T10:00", "T09:00"),
            account_id=account,
            certificate_id=cert_id,
        ),
        exam(cert_id, failed_at, account_id=account),
    ]


def test_two_black_key_events_within_a_year_blacklist_the_company():
    facts = world() + _fraud("R1", "cert-a1", "2025-01-31T10:00")
    facts += _staff("R2", "ABUSIVE-CONDUCT", "2025-08-31T10:00")
    state = fold(facts)
    assert set(state.black_key_events) == {"R1/black-key", "R2/black-key"}
    assert _company_penalties(state) == {
        "R2/company-black-key": (t("2025-08-31T10:00"), t("2026-02-28T10:00"))
    }
    p = state.penalties["R2/company-black-key"]
    assert (p.subject, p.violation_id) == ("co1", "R2")
    assert "R1" in p.causes
    assert blacklisted(state, "company", "co1", "2026-02-28T09:59")
    assert not blacklisted(state, "company", "co1", "2026-02-28T10:00")


def test_black_key_events_a_year_apart_do_not_count():
    facts = world() + _fraud("R1", "cert-a1", "2025-03-01T10:00")
    facts += _staff("R2", "ABUSIVE-CONDUCT", "2026-03-01T10:00")
    state = fold(facts)
    assert _company_penalties(state) == {}


def test_black_key_events_of_two_engineers_of_one_company_count_together():
    facts = world(("a1", "a2")) + _staff("R1", "ABUSIVE-CONDUCT", "2025-01-31T10:00")
    facts += [
        report("R2", "ABUSIVE-CONDUCT", "2025-02-28T09:00", account_id="a2", number="+8613900000002"),
        confirm("R2", "2025-02-28T10:00"),
    ]
    state = fold(facts)
    assert _company_penalties(state) == {
        "R2/company-black-key": (t("2025-02-28T10:00"), t("2025-08-28T10:00"))
    }


def test_rectification_plan_due_in_thirty_days_then_overdue():
    state = fold(world() + _staff("R1", "ABUSIVE-CONDUCT", "2025-01-31T10:00"))
    plan = state.plans["R1/plan"]
    assert (plan.company_id, plan.violation_id, plan.at) == ("co1", "R1", t("2025-01-31T10:00"))
    assert plan.due == t("2025-03-02T10:00")
    assert plan_status(plan, t("2025-02-15T10:00")) == "required"
    assert plan_status(plan, t("2025-03-02T10:00")) == "required"
    assert plan_status(plan, t("2025-03-02T10:01")) == "overdue"
    snap = snapshot(state, t("2025-04-01T10:00"))
    assert [(v.plan.id, v.status) for v in snap.rectification_plans] == [("R1/plan", "overdue")]


def test_rectification_plan_submitted_then_accepted():
    facts = world() + _staff("R1", "ABUSIVE-CONDUCT", "2025-01-31T10:00")
    facts += [submitted("R1/plan", "2025-02-20T10:00"), accepted("R1/plan", "2025-02-25T10:00")]
    submitted_only = fold(facts[:-1])
    assert submitted_only.plans["R1/plan"].submitted_at == t("2025-02-20T10:00")
    assert plan_status(submitted_only.plans["R1/plan"], t("2025-04-01T10:00")) == "submitted"
    state = fold(facts)
    assert state.plans["R1/plan"].accepted_at == t("2025-02-25T10:00")
    assert plan_status(state.plans["R1/plan"], t("2025-04-01T10:00")) == "accepted"


def test_cert_fraud_plan_due_in_thirty_days():
    state = fold(world() + _fraud("R1", "cert-a1", "2025-01-31T10:00"))
    assert state.plans["R1/plan"].due == t("2025-03-02T10:00")
    assert state.black_key_events["R1/black-key"].company_id == "co1"


def test_black_key_event_flags_the_rating_for_review():
    facts = world() + [rating("co1", "L1", 3, "2025-01-01T10:00", id="rating-x")]
    facts += _staff("R1", "ABUSIVE-CONDUCT", "2025-06-30T10:00")
    snap = snapshot(fold(facts), t("2025-07-01T10:00"))
    assert [(r.company_id, r.issued_at, r.review_flag) for r in snap.ratings] == [
        ("co1", t("2025-01-01T10:00"), True),
        ("co1", t("2025-01-01T10:00"), True),
    ]
    clean = snapshot(fold(world()), t("2025-07-01T10:00"))
    assert [r.review_flag for r in clean.ratings] == [False]


def test_support_stopped_only_on_the_violating_case():
    facts = world() + [
        call("call1", "2025-01-31T08:00", case_id="K1"),
        case("K1", "call1", "2025-01-31T08:05"),
        call("call2", "2025-01-31T08:30", case_id="K2"),
        case("K2", "call2", "2025-01-31T08:35"),
        report("R1", "CASE-HANDOFF-UNCERTIFIED", "2025-01-31T09:00", call_id="call1", case_id="K1"),
        confirm("R1", "2025-01-31T10:00"),
    ]
    state = fold(facts)
    assert [s.case_id for s in state.support_stops.values()] == ["K1"]
