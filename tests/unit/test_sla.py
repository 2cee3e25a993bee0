"""Seed 002 SLA clocks. Expected values by hand from RULES.md ("Beyond the rule table") and seed 002:
L1/L2 respond within 30 minutes, L3/L4 and consultations 2 hours, other requests 6 hours; complaints
reply within 2 hours and are resolved within half a month (15 days, docs/sla.md). The clock pauses
while the case waits on the partner; a breach is at the instant the target passes (a response at that
instant is late). Times are Asia/Shanghai (+08:00) unless they say otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime

from projections.fold import project
from projections.sla import CaseClock, Target, attainment, breaches, clocks
from schemas import facts as f
from tests.unit.builders import POLICY, SRC, call, case, fold, t, world


def responded(case_id: str, at: str, id: str | None = None) -> f.CaseResponded:
    return f.CaseResponded(id=id or f"resp-{case_id}-{at}", at=t(at), source=SRC, case_id=case_id)


def waiting(case_id: str, at: str) -> f.CaseAwaitingPartner:
    return f.CaseAwaitingPartner(id=f"wait-{case_id}-{at}", at=t(at), source=SRC, case_id=case_id)


def replied(case_id: str, at: str) -> f.CasePartnerReplied:
    return f.CasePartnerReplied(id=f"reply-{case_id}-{at}", at=t(at), source=SRC, case_id=case_id)


def closed(case_id: str, at: str) -> f.CaseClosed:
    return f.CaseClosed(id=f"close-{case_id}-{at}", at=t(at), source=SRC, case_id=case_id)


def opened(case_id: str, at: str, level: str = "L1") -> list[f.Fact]:
    return [
        call(f"call-{case_id}", at),
        case(case_id, f"call-{case_id}", at, fault_level=level, id=f"open-{case_id}"),
    ]


def at_(when: str | None) -> datetime | None:
    return None if when is None else t(when).astimezone(UTC)


def breach_times(facts: list[f.Fact], as_of: str | None = None) -> dict[str, datetime]:
    """The breaches of the facts folded up to as_of (None: after every due time)."""
    return {b.id: b.at for b in breaches(fold(facts, as_of), at_(as_of))}


def clock(facts: list[f.Fact], case_id: str, as_of: str | None = None) -> CaseClock:
    return next(c for c in clocks(fold(facts, as_of), at_(as_of)) if c.case_id == case_id)


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def test_an_l1_case_with_no_response_breaches_at_exactly_30_minutes() -> None:
    facts = world() + opened("K1", "2025-03-03T09:00")
    assert breach_times(facts, "2025-03-03T09:29:59") == {}
    assert clock(facts, "K1", "2025-03-03T09:29:59").response.outcome == "open"
    assert breach_times(facts, "2025-03-03T09:30") == {"K1/response-breach": utc(2025, 3, 3, 1, 30)}
    [b] = breaches(fold(facts), None)
    assert (b.case_id, b.company_id, b.fault_level, b.target) == ("K1", "co1", "L1", "response")
    assert (b.causes, b.policy_version) == (("open-K1",), "3.0")


def test_a_response_at_09_29_is_met_and_never_breaches() -> None:
    facts = world() + opened("K1", "2025-03-03T09:00") + [responded("K1", "2025-03-03T09:29")]
    assert breach_times(facts) == {}
    assert clock(facts, "K1").response.outcome == "met"


def test_a_response_at_the_due_instant_is_late() -> None:
    facts = world() + opened("K1", "2025-03-03T09:00") + [responded("K1", "2025-03-03T09:30")]
    assert breach_times(facts) == {"K1/response-breach": utc(2025, 3, 3, 1, 30)}
    assert clock(facts, "K1").response.done_at == utc(2025, 3, 3, 1, 30)  # recorded all the same


def test_waiting_on_the_partner_from_09_10_to_09_40_moves_the_breach_to_10_00() -> None:
    facts = world() + opened("K1", "2025-03-03T09:00")
    facts += [waiting("K1", "2025-03-03T09:10"), replied("K1", "2025-03-03T09:40")]
    assert breach_times(facts, "2025-03-03T09:59") == {}
    assert breach_times(facts) == {"K1/response-breach": utc(2025, 3, 3, 2, 0)}
    assert breaches(fold(facts), None)[0].causes == (
        "open-K1",
        "wait-K1-2025-03-03T09:10",
        "reply-K1-2025-03-03T09:40",
    )


def test_a_response_during_the_extension_is_met() -> None:
    facts = world() + opened("K1", "2025-03-03T09:00")
    facts += [waiting("K1", "2025-03-03T09:10"), replied("K1", "2025-03-03T09:40")]
    facts += [responded("K1", "2025-03-03T09:59")]
    assert breach_times(facts) == {}
    assert clock(facts, "K1").response.outcome == "met"


def test_a_case_still_waiting_never_breaches() -> None:
    facts = world() + opened("K1", "2025-03-03T09:00") + [waiting("K1", "2025-03-03T09:10")]
    assert breach_times(facts) == {}
    found = clock(facts, "K1")
    assert (found.response.outcome, found.response.due, found.waiting_since) == (
        "open",
        None,
        utc(2025, 3, 3, 1, 10),
    )


def test_waiting_after_the_breach_does_not_undo_it() -> None:
    facts = world() + opened("K1", "2025-03-03T09:00")
    facts += [waiting("K1", "2025-03-03T09:35"), replied("K1", "2025-03-03T10:35")]
    assert breach_times(facts) == {"K1/response-breach": utc(2025, 3, 3, 1, 30)}


def test_closing_a_case_answers_it_and_stops_the_clocks() -> None:
    """An L3 case (2 hours) closed after 1 hour with no response fact: met."""
    facts = world() + opened("K3", "2025-03-03T09:00", "L3") + [closed("K3", "2025-03-03T10:00")]
    assert breach_times(facts) == {}
    assert clock(facts, "K3").response.outcome == "met"
    assert clock(facts, "K3").resolution is None  # L3 has no resolution target


def test_a_complaint_has_two_targets_2_hours_and_15_days() -> None:
    facts = world() + opened("C1", "2025-03-01T09:00", "complaint")
    facts += [responded("C1", "2025-03-01T10:59")]
    assert breach_times(facts, "2025-03-16T08:59") == {}
    assert breach_times(facts, "2025-03-16T09:00") == {"C1/resolution-breach": utc(2025, 3, 16, 1, 0)}
    assert clock(facts, "C1").response.outcome == "met"
    # resolved (closed) one minute before the 15 days: both met
    facts += [closed("C1", "2025-03-16T08:59")]
    assert breach_times(facts) == {}
    assert clock(facts, "C1").resolution == Target(
        due=utc(2025, 3, 16, 1, 0), outcome="met", done_at=utc(2025, 3, 16, 0, 59)
    )


def test_a_complaint_waiting_a_day_is_due_a_day_later_on_both_targets() -> None:
    facts = world() + opened("C1", "2025-03-01T09:00", "complaint")
    facts += [waiting("C1", "2025-03-01T09:30"), replied("C1", "2025-03-02T09:30")]
    assert breach_times(facts) == {
        "C1/response-breach": utc(2025, 3, 2, 3, 0),  # 2025-03-02 11:00 +08:00
        "C1/resolution-breach": utc(2025, 3, 17, 1, 0),  # 2025-03-17 09:00 +08:00
    }


def test_each_level_has_its_seed_002_target() -> None:
    expected = {
        "L1": utc(2025, 3, 3, 1, 30),
        "L2": utc(2025, 3, 3, 1, 30),
        "L3": utc(2025, 3, 3, 3, 0),
        "L4": utc(2025, 3, 3, 3, 0),
        "consultation": utc(2025, 3, 3, 3, 0),
        "other": utc(2025, 3, 3, 7, 0),
        "complaint": utc(2025, 3, 3, 3, 0),
    }
    facts = world()
    for level in expected:
        facts += opened(f"K-{level}", "2025-03-03T09:00", level)
    found = breaches(fold(facts, "2025-03-03T23:00"), t("2025-03-03T23:00"))
    assert {b.fault_level: b.at for b in found if b.target == "response"} == expected


def test_a_second_close_is_an_anomaly_and_does_not_move_the_end() -> None:
    """An L1 case closed at 09:01 (before its 09:30 response target: met), closed again on 11 April:
    the case ended at 09:01, now and as of 10 April alike; no breach, one anomaly."""
    facts = world() + opened("K1", "2025-03-27T09:01") + [closed("K1", "2025-03-27T09:01")]
    facts += [closed("K1", "2025-04-11T09:01")]
    for as_of in (None, "2025-04-10T00:00"):
        assert breach_times(facts, as_of) == {}
        assert clock(facts, "K1", as_of).response.outcome == "met"
    state = fold(facts)
    assert state.cases["K1"].closed_at == t("2025-03-27T09:01")
    assert [a.reason for a in state.anomalies] == ["case K1 is already closed"]


def test_facts_that_cannot_be_used_are_anomalies() -> None:
    facts = world() + opened("K1", "2025-03-03T09:00")
    facts += [replied("K1", "2025-03-03T09:05"), responded("NOPE", "2025-03-03T09:06", id="r-nope")]
    facts += [waiting("K1", "2025-03-03T09:07"), waiting("K1", "2025-03-03T09:08")]
    reasons = sorted(a.reason for a in fold(facts).anomalies)
    assert reasons == [
        "case K1 already waits on the partner",
        "case K1 was not waiting on the partner",
        "case NOPE was never opened",
    ]


def test_attainment_per_level_counts_met_breached_and_open() -> None:
    facts = world()
    facts += opened("A", "2025-03-03T09:00") + [responded("A", "2025-03-03T09:10")]  # met
    facts += opened("B", "2025-03-03T09:00")  # breached at 09:30
    facts += opened("C", "2025-03-03T09:40")  # open at 10:00 (due 10:10)
    rows = [
        (r.company_id, r.fault_level, r.target, r.met, r.breached, r.open, r.ratio)
        for r in attainment(clocks(fold(facts, "2025-03-03T10:00"), t("2025-03-03T10:00")))
    ]
    assert rows == [(None, "L1", "response", 1, 1, 1, 0.5), ("co1", "L1", "response", 1, 1, 1, 0.5)]


def test_unsorted_facts_give_the_same_breaches_as_sorted_ones() -> None:
    facts = world() + opened("K1", "2025-03-03T09:00")
    facts += [waiting("K1", "2025-03-03T09:10"), replied("K1", "2025-03-03T09:40")]
    forward = breaches(project(facts, POLICY), None)
    backward = breaches(project(list(reversed(facts)), POLICY), None)
    assert forward == backward
    assert [(b.id, b.at) for b in forward] == [("K1/response-breach", utc(2025, 3, 3, 2, 0))]
