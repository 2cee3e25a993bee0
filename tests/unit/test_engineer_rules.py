"""The engineer side of the twelve rules: every engineer penalty hits both the account and the number
the violating call came from, from the confirmation time, for calendar months clamped to month end."""

from __future__ import annotations

import pytest

from .builders import (
    NUMBER,
    OTHER_NUMBER,
    blacklisted,
    call,
    case,
    confirm,
    fold,
    penalty_ids,
    report,
    t,
    warning,
    world,
)

REPORTED = "2025-08-30T09:00"
CONFIRMED = "2025-08-31T10:00"
THREE_MONTHS = "2025-11-30T10:00"
SIX_MONTHS = "2026-02-28T10:00"


def _facts(rule: str, **kw) -> list:
    facts = world() + [
        call("call1", "2025-08-29T15:00", case_id="K1"),
        case("K1", "call1", "2025-08-29T15:05"),
    ]
    return facts + [
        report("R1", rule, REPORTED, call_id="call1", case_id="K1", **kw),
        confirm("R1", CONFIRMED),
    ]


ENGINEER_RULES = [
    # rule, end of the engineer penalty, support stopped on the case
    ("ACCOUNT-SHARED", THREE_MONTHS, False),
    ("ACCOUNT-LEAKED", SIX_MONTHS, False),
    ("BARCODE-REUSE", SIX_MONTHS, False),
    ("CASE-HANDOFF-UNCERTIFIED", THREE_MONTHS, True),
]


@pytest.mark.parametrize(("rule", "until", "stops"), ENGINEER_RULES)
def test_engineer_penalty_on_account_and_number(rule, until, stops):
    state = fold(_facts(rule))
    v = state.violations["R1"]
    assert (v.rule, v.account_id, v.number, v.company_id) == (rule, "a1", NUMBER, "co1")
    assert v.at == t(CONFIRMED)
    assert v.occurred_at == t(REPORTED)
    for kind, subject in (("account", "a1"), ("number", NUMBER)):
        p = state.penalties[f"R1/{kind}"]
        assert (p.subject_kind, p.subject, p.rule, p.violation_id) == (kind, subject, rule, "R1")
        assert p.at == t(CONFIRMED)
        assert p.until == t(until)
        assert p.policy_version == "3.0"
    assert penalty_ids(state) == {"R1/account", "R1/number"}  # no company consequence
    assert blacklisted(state, "account", "a1", CONFIRMED)
    assert not blacklisted(state, "account", "a1", "2025-08-31T09:59")
    assert blacklisted(state, "number", NUMBER, "2025-11-30T09:59")
    assert blacklisted(state, "account", "a1", until) is False
    if stops:
        stop = state.support_stops["R1/support"]
        assert (stop.case_id, stop.reason, stop.at) == ("K1", rule, t(CONFIRMED))
    else:
        assert "R1/support" not in state.support_stops


def test_number_given_on_the_report_is_penalised():
    facts = world() + [
        report("R1", "ACCOUNT-LEAKED", REPORTED, number=OTHER_NUMBER),
        confirm("R1", CONFIRMED),
    ]
    state = fold(facts)
    assert state.penalties["R1/number"].subject == OTHER_NUMBER
    assert (state.penalties["R1/number"].at, state.penalties["R1/number"].until) == (
        t(CONFIRMED),
        t(SIX_MONTHS),
    )


def test_report_alone_is_not_a_violation():
    state = fold(world() + [report("R1", "ACCOUNT-SHARED", REPORTED, number=NUMBER)])
    assert state.violations == {}
    assert state.penalties == {}
    assert state.pending["R1"].status == "open"


def test_dismissed_report_has_no_consequence():
    from .builders import dismiss

    state = fold(
        world() + [report("R1", "ACCOUNT-SHARED", REPORTED, number=NUMBER), dismiss("R1", CONFIRMED)]
    )
    assert state.violations == {}
    assert state.penalties == {}


def test_penalty_starts_at_confirmation_not_occurrence():
    facts = world() + [
        report("R1", "ACCOUNT-SHARED", "2025-01-10T10:00", number=NUMBER, occurred_at="2025-01-02T10:00"),
        confirm("R1", "2025-01-31T10:00"),
    ]
    state = fold(facts)
    assert state.violations["R1"].occurred_at == t("2025-01-02T10:00")
    assert state.penalties["R1/account"].at == t("2025-01-31T10:00")
    assert state.penalties["R1/account"].until == t("2025-04-30T10:00")
    assert not blacklisted(state, "account", "a1", "2025-01-20T10:00")


def test_leap_year_one_month_clamp_through_a_penalty():
    # ACCOUNT-SHARED is 3 months; 30 Nov 2023 + 3 months = 29 Feb 2024
    facts = world() + [
        report("R1", "ACCOUNT-SHARED", "2023-11-29T10:00", number=NUMBER),
        confirm("R1", "2023-11-30T10:00"),
    ]
    state = fold(facts)
    assert state.penalties["R1/account"].until == t("2024-02-29T10:00")
    assert state.penalties["R1/number"].until == t("2024-02-29T10:00")


# --- ABUSIVE-CONDUCT -------------------------------------------------------------------------------
def test_abusive_conduct_is_permanent_with_a_black_key_event():
    state = fold(_facts("ABUSIVE-CONDUCT"))
    for kind, subject in (("account", "a1"), ("number", NUMBER)):
        p = state.penalties[f"R1/{kind}"]
        assert (p.subject, p.at, p.until, p.end()) == (subject, t(CONFIRMED), None, None)
        assert blacklisted(state, kind, subject, "2040-01-01T00:00")
    assert "R1/support" not in state.support_stops
    event = state.black_key_events["R1/black-key"]
    assert (event.company_id, event.violation_id, event.at) == ("co1", "R1", t(CONFIRMED))
    plan = state.plans["R1/plan"]
    assert (plan.company_id, plan.due) == ("co1", t("2025-09-30T10:00"))
    # one black key event alone does not blacklist the company
    assert penalty_ids(state) == {"R1/account", "R1/number"}


# --- OTHER-IRREGULAR -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("on_report", "on_confirmation", "penalised"),
    [
        (True, None, True),
        (False, None, False),
        (None, None, False),
        (False, True, True),
        (True, False, False),
    ],
)
def test_other_irregular_only_when_serious(on_report, on_confirmation, penalised):
    facts = world() + [
        report("R1", "OTHER-IRREGULAR", REPORTED, number=NUMBER, serious=on_report),
        confirm("R1", CONFIRMED, serious=on_confirmation),
    ]
    state = fold(facts)
    assert state.violations["R1"].rule == "OTHER-IRREGULAR"
    if penalised:
        assert penalty_ids(state) == {"R1/account", "R1/number"}
        assert state.penalties["R1/account"].at == t(CONFIRMED)
        assert state.penalties["R1/account"].until == t(THREE_MONTHS)
        assert state.penalties["R1/number"].until == t(THREE_MONTHS)
    else:
        assert penalty_ids(state) == set()
        assert not blacklisted(state, "account", "a1", CONFIRMED)


# --- CUSTOMER-IMPERSONATION ------------------------------------------------------------------------
def _impersonation(rid: str, confirmed: str, account: str = "a1", number: str = NUMBER) -> list:
    call_id = f"call-{rid}"
    return [
        call(
            call_id,
            confirmed.replace("T10:00", "T08:00"),
            account_id=account,
            number=number,
            channel="customer",
        ),
        report(
            rid,
            "CUSTOMER-IMPERSONATION",
            confirmed.replace("T10:00", "T09:00"),
            account_id=account,
            call_id=call_id,
        ),
        confirm(rid, confirmed),
    ]


def test_first_impersonation_is_a_warning_the_second_is_a_penalty():
    first = fold(world() + _impersonation("R1", "2025-01-31T10:00"))
    assert first.violations["R1"].rule == "CUSTOMER-IMPERSONATION"
    w = first.warnings["R1/warning"]
    assert (w.account_id, w.rule, w.at) == ("a1", "CUSTOMER-IMPERSONATION", t("2025-01-31T10:00"))
    assert penalty_ids(first) == set()

    both = fold(world() + _impersonation("R1", "2025-01-31T10:00") + _impersonation("R2", "2025-03-31T10:00"))
    assert penalty_ids(both) == {"R2/account", "R2/number"}
    for kind in ("account", "number"):
        p = both.penalties[f"R2/{kind}"]
        assert (p.at, p.until) == (t("2025-03-31T10:00"), t("2025-09-30T10:00"))
    assert both.penalties["R2/number"].subject == NUMBER
    assert "R2/warning" not in both.warnings


def test_impersonation_warning_issued_by_staff_counts():
    facts = world() + [warning("a1", "CUSTOMER-IMPERSONATION", "2025-01-01T10:00")]
    state = fold(facts + _impersonation("R1", "2025-01-31T10:00"))
    assert penalty_ids(state) == {"R1/account", "R1/number"}
    assert state.penalties["R1/account"].until == t("2025-07-31T10:00")


def test_impersonation_warning_of_another_rule_or_account_does_not_count():
    facts = world(("a1", "a2")) + [
        warning("a1", "ACCOUNT-SHARED", "2025-01-01T10:00"),
        warning("a2", "CUSTOMER-IMPERSONATION", "2025-01-01T10:00"),
    ]
    state = fold(facts + _impersonation("R1", "2025-01-31T10:00"))
    assert penalty_ids(state) == set()
    assert "R1/warning" in state.warnings


def test_impersonations_of_two_accounts_are_each_a_first_warning():
    facts = world(("a1", "a2")) + _impersonation("R1", "2025-01-31T10:00")
    facts += _impersonation("R2", "2025-03-31T10:00", account="a2", number=OTHER_NUMBER)
    state = fold(facts)
    assert penalty_ids(state) == set()
    assert {"R1/warning", "R2/warning"} <= set(state.warnings)


# --- union of periods ------------------------------------------------------------------------------
def test_overlapping_penalties_are_a_union_and_never_shortened():
    facts = world() + [
        report("R1", "ACCOUNT-LEAKED", "2025-01-10T10:00", number=NUMBER),
        confirm("R1", "2025-01-31T10:00"),  # 6 months: until 31 Jul
        report("R2", "ACCOUNT-SHARED", "2025-02-10T10:00", number=NUMBER),
        confirm("R2", "2025-02-28T10:00"),
    ]  # 3 months: until 28 May
    state = fold(facts)
    assert period_of(state, "R1/account") == (t("2025-01-31T10:00"), t("2025-07-31T10:00"))
    assert period_of(state, "R2/account") == (t("2025-02-28T10:00"), t("2025-05-28T10:00"))
    for at in ("2025-01-31T10:00", "2025-03-01T10:00", "2025-06-15T10:00", "2025-07-31T09:59"):
        assert blacklisted(state, "account", "a1", at)
        assert blacklisted(state, "number", NUMBER, at)
    assert not blacklisted(state, "account", "a1", "2025-07-31T10:00")
    assert {p.id for p in state.active_penalties("account", "a1", t("2025-03-01T10:00"))} == {
        "R1/account",
        "R2/account",
    }


def test_union_across_a_later_longer_penalty():
    facts = world() + [
        report("R1", "ACCOUNT-SHARED", "2025-01-10T10:00", number=NUMBER),
        confirm("R1", "2025-01-31T10:00"),  # until 30 Apr
        report("R2", "ACCOUNT-LEAKED", "2025-03-10T10:00", number=NUMBER),
        confirm("R2", "2025-03-31T10:00"),
    ]  # until 30 Sep
    state = fold(facts)
    assert blacklisted(state, "account", "a1", "2025-04-30T10:00")
    assert blacklisted(state, "account", "a1", "2025-09-30T09:59")
    assert not blacklisted(state, "account", "a1", "2025-09-30T10:00")


def test_permanent_wins_over_a_later_shorter_penalty():
    facts = world() + [
        report("R1", "ABUSIVE-CONDUCT", "2025-01-10T10:00", number=NUMBER),
        confirm("R1", "2025-01-31T10:00"),
        report("R2", "ACCOUNT-SHARED", "2025-02-10T10:00", number=NUMBER),
        confirm("R2", "2025-02-28T10:00"),
    ]
    state = fold(facts)
    assert state.penalties["R2/account"].until == t("2025-05-28T10:00")
    assert blacklisted(state, "account", "a1", "2025-05-28T10:00")
    assert blacklisted(state, "account", "a1", "2031-01-01T10:00")
    assert blacklisted(state, "number", NUMBER, "2031-01-01T10:00")


def period_of(state, penalty_id):
    p = state.penalties[penalty_id]
    return p.at, p.until
