"""Detectors raise suspicions from the call stream; only evasion confirms itself."""

from __future__ import annotations

from projections.view import snapshot

from .builders import (
    NUMBER,
    OTHER_NUMBER,
    call,
    case,
    confirm,
    dismiss,
    fold,
    penalty_ids,
    t,
    world,
)


# --- barcode mismatch at call time -----------------------------------------------------------------
def test_barcode_mismatch_at_call_time_is_a_suspicion_not_a_violation():
    facts = world() + [call("c1", "2025-08-24T10:00", model="M7", case_id="K1")]
    state = fold(facts)
    s = state.suspicions["barcode-mismatch:c1"]
    assert (s.rule, s.account_id, s.number, s.detector, s.at) == (
        "BARCODE-MISMATCH",
        "a1",
        NUMBER,
        "barcode-mismatch",
        t("2025-08-24T10:00"),
    )
    assert "M7" in s.detail
    assert state.pending["barcode-mismatch:c1"].status == "open"
    assert state.violations == {}
    assert state.codes_requests == {}
    assert penalty_ids(state) == set()
    # long after: still nothing without a confirmation
    later = fold(facts, as_of="2026-01-01T10:00")
    assert penalty_ids(later) == set()
    assert [x.id for x in snapshot(later, t("2026-01-01T10:00")).open_suspicions] == ["barcode-mismatch:c1"]


def test_site_mismatch_is_also_a_suspicion():
    state = fold(world() + [call("c1", "2025-08-24T10:00", site="s9")])
    assert "barcode-mismatch:c1" in state.suspicions


def test_matching_barcode_or_unknown_barcode_raises_no_mismatch():
    state = fold(world() + [call("c1", "2025-08-24T10:00"), call("c2", "2025-08-24T11:00", barcode="NOPE")])
    assert not [k for k in state.suspicions if k.startswith("barcode-mismatch")]


def test_confirmed_mismatch_suspicion_follows_the_mismatch_rule():
    facts = world() + [
        call("c1", "2025-08-24T08:00", model="M7", case_id="K1"),
        case("K1", "c1", "2025-08-24T08:05"),
        confirm("barcode-mismatch:c1", "2025-08-24T10:00"),
    ]
    state = fold(facts)
    v = state.violations["barcode-mismatch:c1"]
    assert (v.rule, v.number, v.at) == ("BARCODE-MISMATCH", NUMBER, t("2025-08-24T10:00"))
    assert state.support_stops["barcode-mismatch:c1/support"].case_id == "K1"
    assert state.codes_requests["barcode-mismatch:c1"].deadline == t("2025-08-31T10:00")
    p = state.penalties["barcode-mismatch:c1/number"]
    assert (p.subject, p.at, p.until) == (NUMBER, t("2025-08-31T10:00"), t("2026-02-28T10:00"))


def test_dismissed_suspicion_has_no_consequence():
    facts = world() + [
        call("c1", "2025-08-24T08:00", model="M7"),
        dismiss("barcode-mismatch:c1", "2025-08-24T10:00"),
    ]
    state = fold(facts)
    assert state.violations == {}
    assert state.pending["barcode-mismatch:c1"].status == "dismissed"


# --- barcode reuse ---------------------------------------------------------------------------------
def test_one_barcode_for_three_different_problems_within_90_days():
    facts = world() + [
        call("c1", "2025-01-01T10:00", problem="disk failure"),
        call("c2", "2025-02-01T10:00", problem="  Disk   FAILURE "),  # the same problem
        call("c3", "2025-02-15T10:00", problem="fan noise"),
    ]
    assert not [k for k in fold(facts).suspicions if k.startswith("barcode-reuse")]
    facts.append(call("c4", "2025-03-01T10:00", problem="licence question"))
    state = fold(facts)
    s = state.suspicions["barcode-reuse:c4"]
    assert (s.rule, s.account_id, s.detector, s.at) == (
        "BARCODE-REUSE",
        "a1",
        "barcode-reuse",
        t("2025-03-01T10:00"),
    )
    assert set(s.causes) >= {"c3", "c4"}
    assert [k for k in state.suspicions if k.startswith("barcode-reuse")] == ["barcode-reuse:c4"]
    assert state.violations == {}
    confirmed = fold(facts + [confirm("barcode-reuse:c4", "2025-03-31T10:00")])
    p = confirmed.penalties["barcode-reuse:c4/account"]
    assert (p.at, p.until) == (t("2025-03-31T10:00"), t("2025-09-30T10:00"))
    assert confirmed.penalties["barcode-reuse:c4/number"].subject == NUMBER


def test_three_problems_spread_over_more_than_90_days_raise_nothing():
    facts = world() + [
        call("c1", "2025-01-01T10:00", problem="disk failure"),
        call("c2", "2025-03-01T10:00", problem="fan noise"),
        call("c3", "2025-04-15T10:00", problem="licence question"),
    ]  # 104 days after c1
    assert not [k for k in fold(facts).suspicions if k.startswith("barcode-reuse")]


def test_barcode_reuse_counts_different_barcodes_apart():
    facts = world() + [
        call("c1", "2025-01-01T10:00", problem="disk failure"),
        call("c2", "2025-01-02T10:00", problem="fan noise", barcode="BC2"),
        call("c3", "2025-01-03T10:00", problem="licence question", barcode="BC3"),
    ]
    assert not [k for k in fold(facts).suspicions if k.startswith("barcode-reuse")]


# --- one account on two numbers at overlapping times -----------------------------------------------
def test_one_account_on_two_numbers_at_overlapping_times():
    facts = world() + [
        call("c1", "2025-01-01T10:00", number=NUMBER, ended_at="2025-01-01T10:30"),
        call("c2", "2025-01-01T10:20", number=OTHER_NUMBER, ended_at="2025-01-01T10:40"),
    ]
    state = fold(facts)
    s = state.suspicions["shared-account:c2"]
    assert (s.rule, s.account_id, s.number, s.detector) == (
        "ACCOUNT-SHARED",
        "a1",
        OTHER_NUMBER,
        "shared-account",
    )
    assert set(s.causes) == {"c1", "c2"}
    assert state.violations == {}
    confirmed = fold(facts + [confirm("shared-account:c2", "2025-01-31T10:00")])
    assert (
        confirmed.penalties["shared-account:c2/account"].at,
        confirmed.penalties["shared-account:c2/account"].until,
    ) == (t("2025-01-31T10:00"), t("2025-04-30T10:00"))
    assert confirmed.penalties["shared-account:c2/number"].subject == OTHER_NUMBER


def test_one_account_on_two_numbers_one_after_the_other_is_fine():
    facts = world() + [
        call("c1", "2025-01-01T10:00", number=NUMBER, ended_at="2025-01-01T10:30"),
        call("c2", "2025-01-01T10:31", number=OTHER_NUMBER),
    ]
    assert not [k for k in fold(facts).suspicions if k.startswith("shared-account")]


def test_assumed_call_length_when_no_end_time():
    overlapping = world() + [
        call("c1", "2025-01-01T10:00"),
        call("c2", "2025-01-01T10:14", number=OTHER_NUMBER),
    ]
    assert "shared-account:c2" in fold(overlapping).suspicions
    apart = world() + [call("c1", "2025-01-01T10:00"), call("c2", "2025-01-01T10:16", number=OTHER_NUMBER)]
    assert "shared-account:c2" not in fold(apart).suspicions


def test_two_accounts_on_one_number_is_not_shared_account():
    facts = world(("a1", "a2")) + [
        call("c1", "2025-01-01T10:00", account_id="a1"),
        call("c2", "2025-01-01T10:05", account_id="a2"),
    ]
    assert not [k for k in fold(facts).suspicions if k.startswith("shared-account")]


# --- case number reused ----------------------------------------------------------------------------
def test_one_case_number_reused_for_an_unrelated_problem():
    facts = world() + [
        call("c1", "2025-01-01T10:00", case_id="K1", problem="disk failure"),
        case("K1", "c1", "2025-01-01T10:05", problem="disk failure"),
        call("c2", "2025-01-03T10:00", case_id="K1", problem="Disk failure"),
        call("c3", "2025-01-05T10:00", case_id="K1", problem="how to configure RAID"),
    ]
    state = fold(facts)
    assert "case-reuse:c2" not in state.suspicions
    s = state.suspicions["case-reuse:c3"]
    assert (s.rule, s.account_id, s.detector) == ("OTHER-IRREGULAR", "a1", "case-reuse")
    assert state.violations == {}
    # confirmed: OTHER-IRREGULAR, penalised only when confirmed as serious
    mild = fold(facts + [confirm("case-reuse:c3", "2025-01-31T10:00")])
    assert mild.violations["case-reuse:c3"].rule == "OTHER-IRREGULAR"
    assert penalty_ids(mild) == set()
    serious = fold(facts + [confirm("case-reuse:c3", "2025-01-31T10:00", serious=True)])
    assert penalty_ids(serious) == {"case-reuse:c3/account", "case-reuse:c3/number"}
    assert serious.penalties["case-reuse:c3/account"].until == t("2025-04-30T10:00")


def test_case_reuse_without_a_problem_on_the_case():
    facts = world() + [
        call("c1", "2025-01-01T10:00", case_id="K1", problem="disk failure"),
        call("c2", "2025-01-03T10:00", case_id="K1", problem="fan noise"),
    ]
    assert "case-reuse:c2" in fold(facts).suspicions


def test_only_evasion_confirms_itself():
    facts = world() + [
        call("c1", "2025-01-01T10:00", model="M7", problem="a"),
        call("c2", "2025-01-01T10:05", number=OTHER_NUMBER, problem="b", case_id="K9"),
        call("c3", "2025-01-01T10:10", problem="c", case_id="K9"),
    ]
    state = fold(facts)
    assert {s.detector for s in state.suspicions.values()} >= {
        "barcode-mismatch",
        "barcode-reuse",
        "shared-account",
        "case-reuse",
    }
    assert state.violations == {}
    assert penalty_ids(state) == set()
