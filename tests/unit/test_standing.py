"""RULES.md "Blacklist periods are a union": blacklisted at T when any unlifted entry covers T; a new
penalty never shortens an existing one; permanent wins. `status` answers with the merged period.

Every date below is worked out by hand from RULES.md: "3 months" and "6 months" are calendar months on
the line's calendar (Asia/Shanghai, +08:00) from the confirmation, clamped to month end.
"""

from __future__ import annotations

from datetime import UTC, datetime

from projections.standing import Period, period_at, periods, person_standing, standing
from schemas.derived import Penalty

from .builders import (
    NUMBER,
    account,
    call,
    cert,
    confirm,
    device,
    exam,
    fold,
    lift,
    maintenance,
    report,
    t,
    world,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def entry(pid: str, start: str, until: str | None, **kw: object) -> Penalty:
    return Penalty(
        id=pid,
        at=utc(start),
        policy_version="3.0",
        causes=(),
        subject_kind="account",
        subject="a1",
        rule="ACCOUNT-SHARED",
        violation_id=pid.split("/")[0],
        until=utc(until) if until else None,
        **kw,  # type: ignore[arg-type]
    )


# --- the union, on penalties written by hand -------------------------------------------------------


def test_overlapping_three_and_six_months_merge_into_one_period() -> None:
    three = entry("V1/account", "2025-01-10T02:00", "2025-04-10T02:00")
    six = entry("V2/account", "2025-02-01T02:00", "2025-08-01T02:00")
    assert periods([six, three]) == [Period(utc("2025-01-10T02:00"), utc("2025-08-01T02:00"))]
    # on 2025-05-01 only the six-month entry is in force, yet the period began on 2025-01-10
    assert period_at([three, six], utc("2025-05-01T00:00")) == Period(
        utc("2025-01-10T02:00"), utc("2025-08-01T02:00")
    )


def test_adjacent_periods_merge_and_a_gap_does_not() -> None:
    first = entry("V1/account", "2025-01-10T02:00", "2025-04-10T02:00")
    adjacent = entry("V2/account", "2025-04-10T02:00", "2025-07-10T02:00")
    later = entry("V3/account", "2025-09-01T02:00", "2025-12-01T02:00")
    assert periods([first, adjacent, later]) == [
        Period(utc("2025-01-10T02:00"), utc("2025-07-10T02:00")),
        Period(utc("2025-09-01T02:00"), utc("2025-12-01T02:00")),
    ]
    assert period_at([first, adjacent, later], utc("2025-08-01T00:00")) is None  # in the gap


def test_a_permanent_entry_makes_the_period_for_ever() -> None:
    three = entry("V1/account", "2025-01-10T02:00", "2025-04-10T02:00")
    permanent = entry("V2/account", "2025-03-01T02:00", None)
    assert periods([three, permanent]) == [Period(utc("2025-01-10T02:00"), None)]
    assert period_at([three, permanent], utc("2099-01-01T00:00")) == Period(utc("2025-01-10T02:00"), None)
    # a later, shorter entry never shortens a permanent one
    later = entry("V3/account", "2025-06-01T02:00", "2025-09-01T02:00")
    assert periods([permanent, later]) == [Period(utc("2025-03-01T02:00"), None)]


def test_expired_lifted_and_annulled_entries_do_not_blacklist() -> None:
    expired = entry("V1/account", "2025-01-10T02:00", "2025-04-10T02:00")
    lifted = entry("V2/account", "2025-05-01T02:00", "2025-11-01T02:00", lifted_at=utc("2025-06-01T02:00"))
    annulled = entry("V3/account", "2025-05-01T02:00", None, annulled_at=utc("2025-05-02T02:00"))
    entries = [expired, lifted, annulled]
    assert period_at(entries, utc("2025-04-10T02:00")) is None  # the end is exclusive
    assert period_at(entries, utc("2025-06-01T02:00")) is None  # lifted: ends at the lift
    assert period_at(entries, utc("2025-05-15T00:00")) == Period(
        utc("2025-05-01T02:00"), utc("2025-06-01T02:00")
    )


# --- the standing of a subject, from facts ---------------------------------------------------------


def shared_then_leaked() -> list:
    """a1 (person person-a1) shares its account, confirmed 2025-01-10 10:00 +08:00: 3 months, to 2025-04-10;
    leaks it, confirmed 2025-02-01 10:00: 6 months, to 2025-08-01 10:00. Both from NUMBER."""
    return [
        *world(),
        report("V1", "ACCOUNT-SHARED", "2025-01-09", number=NUMBER),
        confirm("V1", "2025-01-10T10:00"),
        report("V2", "ACCOUNT-LEAKED", "2025-01-31", number=NUMBER),
        confirm("V2", "2025-02-01T10:00"),
    ]


def test_status_gives_the_end_of_the_union_and_every_reason() -> None:
    at = t("2025-03-01T12:00")
    s = standing(fold(shared_then_leaked(), at), "account", "a1", at)
    assert s.blacklisted and s.known
    assert s.until == t("2025-08-01T10:00")  # not 2025-04-10: the union, not the first entry
    assert [(r.rule, r.start, r.until, r.status) for r in s.reasons] == [
        ("ACCOUNT-SHARED", t("2025-01-10T10:00"), t("2025-04-10T10:00"), "in force"),
        ("ACCOUNT-LEAKED", t("2025-02-01T10:00"), t("2025-08-01T10:00"), "in force"),
    ]
    assert s.lifted_by[0].startswith("time:")
    assert "V1, V2" in s.lifted_by[-1]


def test_the_number_is_found_under_any_spelling() -> None:
    at = t("2025-03-01T12:00")
    s = standing(fold(shared_then_leaked(), at), "number", "138 0000 0001", at)
    assert (s.subject, s.blacklisted, s.until) == ("+8613800000001", True, t("2025-08-01T10:00"))


def test_after_the_union_ends_the_subject_is_not_blacklisted() -> None:
    at = t("2025-08-01T10:00")  # the six-month entry ends here (exclusive)
    s = standing(fold(shared_then_leaked(), at), "account", "a1", at)
    assert not s.blacklisted and s.until is None and s.reasons == []


def test_a_lift_shortens_only_its_own_entry() -> None:
    facts = [*shared_then_leaked(), lift("V2/account", "2025-03-01T10:00")]
    at = t("2025-03-15T10:00")
    s = standing(fold(facts, at), "account", "a1", at)
    assert s.until == t("2025-04-10T10:00")  # V1's three months are still there


def test_abusive_conduct_is_for_ever_and_says_nothing_lifts_it() -> None:
    facts = [
        *world(),
        report("V9", "ABUSIVE-CONDUCT", "2025-01-09", number=NUMBER),
        confirm("V9", "2025-01-10"),
    ]
    at = t("2030-01-01")
    s = standing(fold(facts, at), "account", "a1", at)
    assert s.blacklisted and s.until is None
    assert any(way.startswith("nothing: V9/account is permanent") for way in s.lifted_by)


def test_a_person_is_blacklisted_through_any_of_their_accounts() -> None:
    facts = [*shared_then_leaked(), account("a2", "co1", person="person-a1")]
    at = t("2025-03-01T12:00")
    s = person_standing(fold(facts, at), "person-a1", at)
    assert s.blacklisted
    assert [(x.subject_kind, x.subject, x.blacklisted) for x in s.linked] == [
        ("account", "a1", True),
        ("account", "a2", False),
        ("number", "+8613800000001", True),
    ]


def test_the_third_revoked_certificate_is_told_though_it_is_no_blacklist_entry() -> None:
    """RULES.md CERT-FRAUD: at three revoked certificates the account can no longer reach the line."""
    facts = [*world(), cert("c2", "a1", "L1"), cert("c3", "a1", "L2")]
    for rid, certificate, day in (
        ("R1", "cert-a1", "2025-01-31"),
        ("R2", "c2", "2025-03-31"),
        ("R3", "c3", "2025-05-31"),
    ):
        facts += [
            report(rid, "CERT-FRAUD", f"{day}T09:00", certificate_id=certificate),
            exam(certificate, f"{day}T10:00"),
        ]
    before = standing(fold(facts, "2025-05-31T09:59"), "account", "a1", t("2025-05-31T09:59"))
    assert before.all_certificates_revoked_at is None
    after = standing(fold(facts, "2026-01-01"), "account", "a1", t("2026-01-01"))
    assert after.all_certificates_revoked_at == t("2025-05-31T10:00")


def test_an_out_of_warranty_swap_names_the_maintenance_agreement_that_ends_it() -> None:
    """RULES.md BARCODE-SWAP-OUT-OF-WARRANTY: the company is blacklisted with no end date until it
    agrees on a maintenance purchase for that customer (here cu2, the customer of device B)."""
    facts = [
        *world(),
        device("BCB", model="M2", customer="cu2", site="s2", warranty_end="2024-01-01", at="2025-08-01"),
        call("call-R1", "2025-08-31T08:00", case_id="K-R1"),
        report(
            "R1", "BARCODE-SWAP-OUT-OF-WARRANTY", "2025-08-31T09:00", call_id="call-R1", device_barcode="BCB"
        ),
        confirm("R1", "2025-08-31T10:00"),
    ]
    at = t("2025-12-01")
    s = standing(fold(facts, at), "company", "co1", at)
    assert s.blacklisted and s.until is None
    assert [r.start for r in s.reasons] == [t("2025-08-31T10:00")]
    assert "a maintenance agreement for customer cu2 ends R1/company" in s.lifted_by
    later = t("2026-01-10T10:00")
    ended = standing(
        fold([*facts, maintenance("co1", "cu2", "2026-01-10T10:00")], later), "company", "co1", later
    )
    assert not ended.blacklisted
