"""The synthetic line's service-level and installed-base facts (producers/synthetic_traffic.py and
producers/synthetic_reference.py): each case is answered and waits in a believable order, and the
partners of record exist when they are assigned."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from domain.policy import load_policy
from producers.synthetic import generate
from producers.synthetic_scenarios import Scenarios
from projections import sla
from projections.fold import project
from schemas import facts as f
from schemas.facts import Fact

SEED, COMPANIES, ENGINEERS, MONTHS = 5, 12, 120, 2
CASE_EVENTS = (f.CaseResponded, f.CaseAwaitingPartner, f.CasePartnerReplied)


@pytest.fixture(scope="module")
def facts() -> list[Fact]:
    return generate(seed=SEED, companies=COMPANIES, engineers=ENGINEERS, months=MONTHS)


def test_case_events_follow_the_opening_and_precede_the_closing(facts: list[Fact]) -> None:
    opened = {x.case_id: x.at for x in facts if isinstance(x, f.CaseOpened)}
    closed = {x.case_id: x.at for x in facts if isinstance(x, f.CaseClosed)}
    responses: Counter[str] = Counter()
    for x in facts:
        if isinstance(x, CASE_EVENTS):
            assert opened[x.case_id] < x.at < closed.get(x.case_id, datetime.max.replace(tzinfo=x.at.tzinfo))
        if isinstance(x, f.CaseResponded):
            responses[x.case_id] += 1
    assert set(responses.values()) == {1}, "one first reply per case, at most"
    assert len(responses) < len(opened), "a few cases get no reply"


def test_waits_alternate_with_replies(facts: list[Fact]) -> None:
    events: defaultdict[str, list[type[Fact]]] = defaultdict(list)
    for x in facts:
        if isinstance(x, f.CaseAwaitingPartner | f.CasePartnerReplied):
            events[x.case_id].append(type(x))
    assert events
    for kinds in events.values():
        assert kinds in ([f.CaseAwaitingPartner, f.CasePartnerReplied], [f.CaseAwaitingPartner])


def test_a_wait_on_the_partner_can_save_the_response_target(facts: list[Fact]) -> None:
    state = project(facts, load_policy())
    targets = state.policy.response_times
    saved = [
        c
        for c in sla.clocks(state, None)
        if c.response.outcome == "met"
        and c.response.done_at is not None
        and c.response.done_at >= c.opened_at + targets[c.fault_level]
    ]
    assert saved, "a reply after the nominal due time, met because the clock stood still"
    assert not state.anomalies


def test_customers_are_assigned_to_registered_companies(facts: list[Fact]) -> None:
    registered = {x.company_id: x.at for x in facts if isinstance(x, f.CompanyRegistered)}
    customers = {x.customer_id for x in facts if isinstance(x, f.DeviceInstalled)}
    assigned = [x for x in facts if isinstance(x, f.CustomerAssigned)]
    assert all(registered[x.company_id] <= x.at for x in assigned)
    assert customers <= {x.customer_id for x in assigned}, "every customer has a partner of record"


def test_the_service_facts_do_not_move_the_rules(facts: list[Fact]) -> None:
    """The service facts draw on a generator of their own: another draw of it changes no call."""
    stream = Scenarios(SEED, datetime(2025, 1, 6, tzinfo=UTC), MONTHS)
    stream.svc = random.Random("another service draw")
    stream.reference(COMPANIES, ENGINEERS)
    stream.scenarios()
    stream.traffic(per_month=5.0)
    stream.installed_base()

    def calls(made: list[Fact]) -> list[tuple[datetime, str, str, str]]:
        return sorted(
            (x.at, x.account_id, x.barcode, x.problem) for x in made if isinstance(x, f.CallReceived)
        )

    assert calls(stream.facts) == calls(facts)
    assert [x for x in stream.facts if isinstance(x, f.CaseResponded)] != [
        x for x in facts if isinstance(x, f.CaseResponded)
    ]
