"""BLACKLIST-EVASION, detected automatically and confirmed at the moment of the call or account opening."""

from __future__ import annotations

from .builders import (
    NUMBER,
    OTHER_NUMBER,
    account,
    admit,
    annul,
    blacklisted,
    call,
    cert,
    confirm,
    fold,
    penalty_ids,
    report,
    t,
    world,
)

# a1 is blacklisted (account and NUMBER) from 31 Jan 2025 10:00 until 30 Apr 2025 10:00.
BLACKLISTING = [
    report("R1", "ACCOUNT-SHARED", "2025-01-30T10:00", number=NUMBER),
    confirm("R1", "2025-01-31T10:00"),
]


def _base() -> list:
    return world() + BLACKLISTING


def test_blacklisted_account_calling_from_another_number_is_evasion():
    state = fold(_base() + [call("c2", "2025-02-10T15:00", number=OTHER_NUMBER)])
    v = state.violations["evasion:c2"]
    assert (v.rule, v.account_id, v.number, v.company_id) == ("BLACKLIST-EVASION", "a1", OTHER_NUMBER, "co1")
    assert v.at == t("2025-02-10T15:00")
    assert "R1/account" in v.causes
    assert state.suspicions["evasion:c2"].detector == "evasion"
    assert state.pending["evasion:c2"].status == "confirmed"
    p = state.penalties["evasion:c2/company"]
    assert (p.subject_kind, p.subject, p.rule) == ("company", "co1", "BLACKLIST-EVASION")
    assert (p.at, p.until) == (t("2025-02-10T15:00"), t("2025-08-10T15:00"))
    # no engineer penalty for evasion itself: the other number is not blacklisted by it
    assert penalty_ids(state) == {"R1/account", "R1/number", "evasion:c2/company"}
    assert not blacklisted(state, "number", OTHER_NUMBER, "2025-02-11T10:00")


def test_evasion_end_of_month_clamp():
    state = fold(_base() + [call("c2", "2025-03-31T15:00", number=OTHER_NUMBER)])
    assert state.penalties["evasion:c2/company"].until == t("2025-09-30T15:00")


def test_calling_from_the_blacklisted_number_is_not_evasion():
    state = fold(_base() + [call("c2", "2025-02-10T15:00", number=NUMBER)])
    assert "evasion:c2" not in state.violations
    assert "evasion:c2" not in state.suspicions
    assert penalty_ids(state) == {"R1/account", "R1/number"}


def test_call_after_the_penalty_expired_is_not_evasion():
    state = fold(_base() + [call("c2", "2025-04-30T10:00", number=OTHER_NUMBER)])
    assert "evasion:c2" not in state.violations


def test_call_before_the_confirmation_is_not_evasion():
    state = fold(_base() + [call("c2", "2025-01-31T09:59", number=OTHER_NUMBER)])
    assert "evasion:c2" not in state.violations


def test_another_account_of_the_same_person_is_evasion():
    facts = _base() + [
        account("a1bis", "co1", person="person-a1"),
        cert("c9", "a1bis"),
        call("c2", "2025-02-10T15:00", account_id="a1bis", number=OTHER_NUMBER),
    ]
    state = fold(facts)
    v = state.violations["evasion:c2"]
    assert (v.rule, v.account_id, v.number) == ("BLACKLIST-EVASION", "a1bis", OTHER_NUMBER)
    assert (state.penalties["evasion:c2/company"].at, state.penalties["evasion:c2/company"].until) == (
        t("2025-02-10T15:00"),
        t("2025-08-10T15:00"),
    )


def test_another_account_of_the_same_person_on_the_blacklisted_number_is_not_evasion():
    facts = _base() + [
        account("a1bis", "co1", person="person-a1"),
        call("c2", "2025-02-10T15:00", account_id="a1bis", number=NUMBER),
    ]
    assert "evasion:c2" not in fold(facts).violations


def test_another_person_calling_is_not_evasion():
    facts = (
        world(("a1", "a2"))
        + BLACKLISTING
        + [call("c2", "2025-02-10T15:00", account_id="a2", number=OTHER_NUMBER)]
    )
    state = fold(facts)
    assert "evasion:c2" not in state.violations
    assert "evasion:c2/company" not in state.penalties


def test_unauthorised_new_account_for_a_blacklisted_person_is_evasion():
    opened = account("a1new", "co1", person="person-a1", at="2025-02-15T11:00", authorised=False, id="open-1")
    state = fold(_base() + [opened])
    v = state.violations["evasion:open-1"]
    assert (v.rule, v.account_id, v.company_id, v.at) == (
        "BLACKLIST-EVASION",
        "a1new",
        "co1",
        t("2025-02-15T11:00"),
    )
    p = state.penalties["evasion:open-1/company"]
    assert (p.subject, p.at, p.until) == ("co1", t("2025-02-15T11:00"), t("2025-08-15T11:00"))


def test_authorised_new_account_is_not_evasion():
    opened = account("a1new", "co1", person="person-a1", at="2025-02-15T11:00", authorised=True, id="open-1")
    state = fold(_base() + [opened])
    assert "evasion:open-1" not in state.violations
    assert penalty_ids(state) == {"R1/account", "R1/number"}


def test_unauthorised_account_when_not_blacklisted_is_not_evasion():
    opened = account("a1new", "co1", person="person-a1", at="2025-05-15T11:00", authorised=False, id="open-1")
    state = fold(_base() + [opened])
    assert "evasion:open-1" not in state.violations


def test_each_evasion_blacklists_the_company():
    state = fold(
        _base()
        + [
            call("c2", "2025-02-10T15:00", number=OTHER_NUMBER),
            call("c3", "2025-03-10T15:00", number="+8613800000003"),
        ]
    )
    assert state.penalties["evasion:c2/company"].until == t("2025-08-10T15:00")
    assert state.penalties["evasion:c3/company"].until == t("2025-09-10T15:00")
    assert blacklisted(state, "company", "co1", "2025-09-10T14:59")
    assert not blacklisted(state, "company", "co1", "2025-09-10T15:00")


def test_annulling_the_evasion_itself_voids_its_company_penalty():
    state = fold(
        _base()
        + [call("c2", "2025-02-10T15:00", number=OTHER_NUMBER), annul("evasion:c2", "2025-03-01T10:00")]
    )
    assert state.violations["evasion:c2"].annulled_at == t("2025-03-01T10:00")
    assert state.penalties["evasion:c2/company"].annulled_at == t("2025-03-01T10:00")
    assert not blacklisted(state, "company", "co1", "2025-02-11T10:00")
    assert blacklisted(state, "account", "a1", "2025-02-11T10:00")  # R1 itself stands


def test_call_at_the_instant_a_deadline_penalty_starts_is_evasion():
    """A deadline applies before the facts of its instant, so the penalty covers the call."""
    facts = world() + [
        report("R1", "BARCODE-MISMATCH", "2025-08-24T09:00", number=NUMBER),
        confirm("R1", "2025-08-24T10:00"),
        call("c2", "2025-08-31T10:00", number=OTHER_NUMBER),
    ]
    state = fold(facts)
    assert blacklisted(state, "account", "a1", "2025-08-31T10:00")
    assert "evasion:c2" in state.violations
    expected = ["account-blacklisted", "number-blacklisted", "company-blacklisted"]
    assert admit(state, "2025-08-31T10:00") == expected
