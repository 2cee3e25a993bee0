"""The synthetic demo stream: every rule fires, the combinations of RULES.md occur, the line answers its
cases and its customers have partners of record (seeds 002 and 004), and the rules can use every fact
the generator makes (no anomalies)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from domain.admission import admit_call
from domain.policy import load_policy
from producers.synthetic import generate
from projections.fold import project
from projections.state import State
from projections.view import snapshot
from schemas.codec import fact_from_json, fact_to_json
from schemas.derived import CallRequest
from schemas.facts import (
    AccountOpened,
    CallReceived,
    CaseAwaitingPartner,
    CaseOpened,
    CasePartnerReplied,
    CaseResponded,
    CustomerAssigned,
    Fact,
)
from schemas.types import RULE_IDS

SMALL: dict[str, Any] = {"seed": 11, "companies": 40, "engineers": 300, "months": 4}


@pytest.fixture(scope="module")
def facts() -> list[Fact]:
    return generate(**SMALL)


@pytest.fixture(scope="module")
def state(facts: list[Fact]) -> State:
    return project(facts, load_policy())


def test_the_rules_can_use_every_fact(state: State) -> None:
    for a in state.anomalies:
        print(a)
    assert len(state.anomalies) == 0


def test_every_rule_is_confirmed(state: State) -> None:
    live = {v.rule for v in state.violations.values() if v.annulled_at is None}
    assert live == set(RULE_IDS)


def test_the_combinations_occur(state: State) -> None:
    penalties = list(state.penalties.values())
    companies = [p for p in penalties if p.subject_kind == "company"]
    assert state.permanent, "an account reaching three revoked certificates"
    assert any(p.ended_by for p in companies), "a company penalty ended by a maintenance agreement"
    assert any(p.lifted_at for p in penalties), "clemency"
    assert any(v.annulled_at for v in state.violations.values()), "an annulled violation"
    assert any(p.annulled_at for p in companies), "an annulment removing the company penalty it completed"
    assert {r.result for r in state.codes_requests.values()} >= {"deadline passed", "refused", "provided"}
    company_repeats = Counter(
        (p.subject, p.rule) for p in companies if p.annulled_at is None and p.rule != "BLACKLIST-EVASION"
    )
    assert 1 in company_repeats.values() and max(company_repeats.values()) >= 2, "two and three occurrences"
    assert any(p.id.endswith("/company-black-key") for p in penalties)
    plans = Counter((p.submitted_at is not None, p.accepted_at is not None) for p in state.plans.values())
    assert plans[(True, True)] and plans[(True, False)] and plans[(False, False)]
    evasions = [v for v in state.violations.values() if v.rule == "BLACKLIST-EVASION"]
    assert {v.number is None for v in evasions} == {True, False}, "by a call, and by an account opening"
    impersonations = [p for p in penalties if p.rule == "CUSTOMER-IMPERSONATION"]
    assert state.warnings and impersonations, "a warning, then a penalty"
    irregular = {v.id for v in state.violations.values() if v.rule == "OTHER-IRREGULAR"}
    penalised = {p.violation_id for p in penalties if p.rule == "OTHER-IRREGULAR"}
    assert penalised and irregular - penalised, "a serious and a non-serious OTHER-IRREGULAR"
    outcomes = {(p.origin, p.status) for p in state.pending.values()}
    for detector in ("barcode-mismatch", "barcode-reuse", "shared-account", "case-reuse"):
        assert {(detector, "confirmed"), (detector, "dismissed")} <= outcomes, detector
    assert ("barcode-mismatch", "open") in outcomes


def test_ordinary_traffic_is_mostly_admissible(facts: list[Fact], state: State) -> None:
    with_case = {fact.call_id for fact in facts if isinstance(fact, CaseOpened)}
    admitted: Counter[tuple[bool, bool]] = Counter()
    for call in facts:
        if isinstance(call, CallReceived) and call.channel == "partner":
            request = CallRequest(
                account_id=call.account_id,
                number=call.number,
                barcode=call.barcode,
                stated_model=call.stated_model,
                stated_site=call.stated_site,
            )
            admitted[(call.id in with_case, not admit_call(state, request, call.at, state.policy))] += 1
    calls, cases = sum(admitted.values()), admitted[(True, True)] + admitted[(True, False)]
    assert (admitted[(True, True)] + admitted[(False, True)]) / calls > 0.9
    assert admitted[(True, True)] / cases > 0.98, "cases are opened from admitted calls"


def test_the_line_answers_and_customers_have_partners(facts: list[Fact]) -> None:
    kinds = Counter(type(fact) for fact in facts)
    assert kinds[CaseResponded] > kinds[CaseOpened] / 2, "most cases get a first reply"
    assert kinds[CaseAwaitingPartner] and kinds[CasePartnerReplied], "some cases wait on the partner"
    customers = {fact.customer_id for fact in facts if isinstance(fact, CustomerAssigned)}
    assert len(customers) > 1
    opened = {fact.case_id: fact.at for fact in facts if isinstance(fact, CaseOpened)}
    for fact in facts:
        if isinstance(fact, CaseResponded | CaseAwaitingPartner | CasePartnerReplied):
            assert opened[fact.case_id] < fact.at, "a case is answered after it is opened"


def test_service_levels_and_priority_tiers_vary(facts: list[Fact], state: State) -> None:
    snap = snapshot(state, max(fact.at for fact in facts))
    overall = [r for r in snap.sla_attainment if r.company_id is None and r.target == "response"]
    assert any(r.ratio is not None and 0 < r.ratio < 1 for r in overall), "some replies late, most not"
    assert sum(r.met for r in overall) > sum(r.breached for r in overall)
    tiers = Counter(tuple(t.eligible) for t in snap.priority_tiers)
    assert len(tiers) >= 2, "companies in different priority tiers"
    assert tiers[()] > sum(n for eligible, n in tiers.items() if eligible), "most partners are small"


def test_facts_are_well_formed(facts: list[Fact]) -> None:
    assert len({fact.id for fact in facts}) == len(facts)
    assert {fact.source for fact in facts} == {"crm", "callcentre"}
    assert all(fact.at.utcoffset() == timedelta(0) for fact in facts)
    assert [fact.at for fact in facts] == sorted(fact.at for fact in facts)
    assert all(fact_from_json(fact_to_json(fact)) == fact for fact in facts)  # valid at the edge
    persons = Counter(fact.person_id for fact in facts if isinstance(fact, AccountOpened))
    assert 1 <= sum(n > 1 for n in persons.values()) < len(persons) / 20, "a few persons with two accounts"


def test_the_same_seed_gives_the_same_stream(facts: list[Fact]) -> None:
    assert generate(**SMALL) == facts
    assert generate(**(SMALL | {"seed": 12})) != facts


def test_the_default_stream_is_large_and_quick() -> None:
    began = time.perf_counter()
    stream = generate()
    print(f"{len(stream)} facts in {time.perf_counter() - began:.2f} s")
    assert len(stream) >= 100_000
    kinds = {type(fact) for fact in stream}
    assert {CaseResponded, CustomerAssigned, CaseAwaitingPartner, CasePartnerReplied} <= kinds
