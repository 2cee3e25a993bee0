"""An annulment voided in place (projections.annulment) gives exactly what the fold gives.

The projector voids an annulled violation where the fold stands when nothing folded after it read
what it caused, and refolds otherwise; either way the projections must equal `project()` of the same
facts, at the end and at earlier times. How often each path was taken shows in hypothesis's
statistics (`pytest --hypothesis-show-statistics`); tests/unit/test_projector.py pins the short path.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from domain.policy import Policy, load_policy
from projections.fold import project
from projections.projector import Projector
from projections.state import State
from projections.timeline import MemoryCheckpoints, Spacing
from projections.view import digest, snapshot
from schemas import facts as f
from tests.property.strategies import ACCOUNTS, DEVICES, NUMBERS, RULES, at, fact_sets, world

POLICY = load_policy()
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AS_OF = [at(60 * 24 * 30), at(60 * 24 * 200), at(60 * 24 * 400)]


def own_number(fact: f.Fact, n: int) -> f.Fact:
    """Most calls on a number of their own: in the shared world of three numbers, every later call
    would read an engineer penalty's number, and the short path would hardly ever be taken."""
    if isinstance(fact, f.CallReceived):
        return msgspec.structs.replace(fact, number=f"+86139{n:08d}")
    return fact


def quiet_breaker(fact: f.Fact, violation: tuple[datetime, str], state: State) -> bool:
    """A call after the violation by an account of the same person."""
    if not isinstance(fact, f.CallReceived) or fact.at < violation[0]:
        return False
    return fact.account_id in state.fellow_accounts(state.violations[violation[1]].account_id)


@SETTINGS
@given(
    facts=fact_sets(),
    seed=st.integers(),
    batches=st.integers(1, 6),
    annulments=st.integers(1, 3),
    spacing=st.integers(1, 20),
)
def test_annulling_equals_the_fold_whether_voided_in_place_or_refolded(
    facts: list[f.Fact], seed: int, batches: int, annulments: int, spacing: int
) -> None:
    rng = random.Random(seed)
    facts = [own_number(fact, n) if rng.random() < 0.7 else fact for n, fact in enumerate(facts)]
    arrival = sorted(facts, key=lambda fact: (fact.at, rng.random()))
    projector = Projector(
        POLICY, checkpoints=MemoryCheckpoints(8), spacing=Spacing(min_facts=spacing, cost_ratio=0)
    )
    cut = sorted(rng.sample(range(len(arrival) + 1), min(batches, len(arrival) + 1)))
    for start, end in zip([0, *cut], [*cut, len(arrival)], strict=True):
        projector.add(arrival[start:end])
    added: list[f.Fact] = []
    for n in range(annulments):
        state = projector.state()
        in_force = sorted((v.at, v.id) for v in state.violations.values() if v.annulled_at is None)
        if not in_force:
            break
        # mostly one no later call of its engineer reads: the short path can be taken
        quiet = [v for v in in_force if not any(quiet_breaker(x, v, state) for x in arrival + added)]
        target = rng.choice(quiet) if quiet and rng.random() < 0.7 else rng.choice(in_force)
        latest = projector.latest or at(0)
        annul = f.ViolationAnnulled(
            id=f"annul-in-place-{n}",
            at=latest + timedelta(minutes=rng.randint(1, 60 * 24 * 90)),
            source="cc",
            violation_id=target[1],
        )
        before = projector.voided
        projector.add([annul])
        added.append(annul)
        event("voided in place" if projector.voided > before else "refolded")
        if rng.random() < 0.5:  # a fact after it folds on the voided state
            later = f.CallReceived(
                id=f"after-annul-{n}",
                at=annul.at + timedelta(minutes=1),
                source="cc",
                account_id=rng.choice(["A1", "A2", "A3", "A4"]),
                number="+8613000000001",
                barcode="B1",
                stated_model="M1",
                stated_site="S1",
                problem="port down",
            )
            projector.add([later])
            added.append(later)
        calls = [x for x in facts if isinstance(x, f.CallReceived)]
        if calls and rng.random() < 0.5:  # a late call: it may refold from a checkpoint taken before
            copy = rng.choice(calls)
            late = msgspec.structs.replace(
                copy, id=f"late-{n}", at=copy.at + (annul.at - copy.at) * rng.random()
            )
            projector.add([late])
            added.append(late)
    everything = facts + added
    now = max(fact.at for fact in everything) + timedelta(days=rng.randint(0, 200))
    expected = project(everything, POLICY, now)
    assert digest(snapshot(projector.state(now), now)) == digest(snapshot(expected, now))
    # past queries, some of them after an annulment: from checkpoints taken before it
    past = AS_OF + [
        x.at + timedelta(minutes=rng.randint(0, 600)) for x in added if isinstance(x, f.ViolationAnnulled)
    ]
    for t in past:
        expected = project(everything, POLICY, t)
        assert digest(snapshot(projector.state_at(t), t)) == digest(snapshot(expected, t))


#: Mostly rules that blacklist an engineer, warn first, ask for codes or count a company's repeats.
CROWDED_RULES = [
    "ACCOUNT-SHARED",
    "BARCODE-SWAP-IN-WARRANTY",
    "BARCODE-SWAP-IN-WARRANTY",
    "CUSTOMER-IMPERSONATION",
    "CUSTOMER-IMPERSONATION",
    "BLACKLIST-EVASION",
    "OTHER-IRREGULAR",
    "BARCODE-MISMATCH",  # asks for codes: the deadline blacklists
    "ABUSIVE-CONDUCT",  # a black-key event and its company count
    *RULES[:3],
]


@st.composite
def crowded_month(draw: st.DrawFn) -> list[f.Fact]:
    """Violations confirmed in the first weeks, then a month of calls and confirmations by the same
    few engineers and companies, inside their penalties: what a later fact may read is there."""
    facts = world()
    accounts, fresh = sorted(ACCOUNTS), [f"+86137{i:08d}" for i in range(6)]
    for i in range(draw(st.integers(1, 12))):
        t = draw(st.integers(1, 60 * 24 * 60))
        b = draw(st.sampled_from(sorted(DEVICES)))
        call = f.CallReceived(
            id=f"cm-call-{i}",
            at=at(t),
            source="cc",
            account_id=draw(st.sampled_from(accounts)),
            number=draw(st.sampled_from(NUMBERS + fresh)),
            barcode=b,
            stated_model=DEVICES[b][0],
            stated_site=draw(st.sampled_from([DEVICES[b][1], DEVICES[b][1], "S-wrong"])),
            problem="port down",
            case_id=draw(st.sampled_from([None, f"K-{i}"])),
        )
        facts.append(call)
        if draw(st.booleans()):
            facts.append(
                f.ViolationReported(
                    id=f"cm-rep-{i}",
                    at=at(t + 5),
                    source="cc",
                    rule=draw(st.sampled_from(CROWDED_RULES)),
                    account_id=call.account_id,
                    call_id=call.id,
                    case_id=call.case_id,
                    serious=draw(st.booleans()),
                )
            )
            facts.append(
                f.ViolationConfirmed(
                    id=f"cm-conf-{i}",
                    at=at(t + draw(st.integers(10, 60 * 24 * 20))),
                    source="cc",
                    violation_id=f"cm-rep-{i}",
                )
            )
    return facts


#: A pack whose barcode-mismatch suspicions are confirmed at once: a call with a wrong site then
#: counts toward its company's repeats inside the call's own fold.
AT_ONCE = msgspec.structs.replace(
    POLICY,
    detectors={
        **POLICY.detectors,
        "barcode-mismatch": msgspec.structs.replace(POLICY.detectors["barcode-mismatch"], auto_confirm=True),
    },
)


@SETTINGS
@given(facts=crowded_month(), seed=st.integers(), policy=st.sampled_from([POLICY, AT_ONCE]))
def test_annulling_in_a_crowded_month_equals_the_fold(facts: list[f.Fact], seed: int, policy: Policy) -> None:
    """Each confirmed violation annulled in turn, a projector per annulment, against the fold."""
    rng = random.Random(seed)
    base = Projector(policy)
    base.add(facts)
    confirmed = sorted(v.id for v in base.state().violations.values())
    for violation_id in rng.sample(confirmed, min(3, len(confirmed))):
        projector = Projector(policy, checkpoints=MemoryCheckpoints(8), spacing=Spacing(3, cost_ratio=0))
        projector.add(facts)
        latest = projector.latest or at(0)
        annul = f.ViolationAnnulled(
            id=f"annul-{violation_id}", at=latest + timedelta(hours=1), source="cc", violation_id=violation_id
        )
        before = projector.voided
        projector.add([annul])
        event("voided in place" if projector.voided > before else "refolded")
        now = annul.at + timedelta(days=rng.randint(0, 120))
        expected = project([*facts, annul], policy, now)
        assert digest(snapshot(projector.state(now), now)) == digest(snapshot(expected, now))
