"""SLA breaches depend on the facts, not on their arrival order (RULES.md, Determinism), and a past
as-of sees exactly the breaches due by then."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.policy import load_policy
from projections.fold import project
from projections.sla import breaches
from schemas import facts as f
from tests.property.strategies import at, fact_sets

POLICY = load_policy()
AS_OF = [None, at(60 * 24 * 100), at(60 * 24 * 400), at(60 * 24 * 720)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=fact_sets(), seed=st.integers())
def test_breaches_do_not_depend_on_arrival_order(facts: list[f.Fact], seed: int) -> None:
    shuffled = facts[:]
    random.Random(seed).shuffle(shuffled)
    for as_of in AS_OF:
        assert breaches(project(shuffled, POLICY, as_of), as_of) == breaches(
            project(facts, POLICY, as_of), as_of
        )
    final = breaches(project(facts, POLICY), None)
    for as_of in AS_OF[1:]:
        assert as_of is not None
        expected = [b for b in final if b.at <= as_of]
        assert breaches(project(facts, POLICY, as_of), as_of) == expected
