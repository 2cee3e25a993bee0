"""Issue 9 item 7: a barcode mismatch found at admission raises the BARCODE-MISMATCH suspicion, even
when no call fact follows (RULES.md "Suspicion and confirmation": a typo is not fraud, so a suspicion,
not a violation); the same call logged minutes later does not raise it a second time.

Expected values are from RULES.md and domain/policies/3.0.toml; `world()` holds device BC1, model M1 at
site s1 (tests/unit/builders.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec

from access.roles import Role, may_post
from domain.admission import refusal_fact
from domain.detectors import CallDetectors, DetectorHistory
from domain.policy import decode_policy
from producers.publish_checks import ROLES
from producers.validate import semantic_problems
from projections.fold import project
from projections.view import snapshot
from schemas import facts as f
from schemas.codec import normalise
from schemas.derived import AdmissionDecision, CallRequest, Reason

from .builders import NUMBER, POLICY, call, fold, penalty_ids, t, world
from .policy_packs import SHIPPED

WHEN = "2025-03-10T10:00"  # +08:00: 02:00 UTC


def refused(
    decision_id: str = "adm-1", at: str = WHEN, barcode: str = "BC1", model: str = "M2", site: str = "s1"
) -> f.AdmissionRefused:
    return f.AdmissionRefused(
        id=decision_id,
        at=t(at),
        source="admission",
        account_id="a1",
        number=NUMBER,
        barcode=barcode,
        stated_model=model,
        stated_site=site,
        reasons=("barcode-mismatch",),
    )


def mismatches(state) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(k for k in state.suspicions if k.startswith("barcode-mismatch:"))


def test_an_admission_mismatch_raises_an_open_suspicion_without_any_call():
    state = fold(world() + [refused()])
    assert mismatches(state) == ["barcode-mismatch:adm-1"]
    s = state.suspicions["barcode-mismatch:adm-1"]
    assert (s.rule, s.detector, s.account_id, s.number, s.causes) == (
        "BARCODE-MISMATCH",
        "barcode-mismatch",
        "a1",
        NUMBER,
        ("adm-1",),
    )
    assert s.at == datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    assert s.detail == "model 'M2' but installed 'M1'"
    pending = state.pending["barcode-mismatch:adm-1"]
    assert (pending.status, pending.raised_at) == ("open", datetime(2025, 3, 10, 2, 0, tzinfo=UTC))
    # a suspicion, not a violation: nothing confirmed, no codes asked, no penalty, long after too
    later = fold(world() + [refused()], as_of="2026-01-01T10:00")
    assert later.violations == {} and later.codes_requests == {} and penalty_ids(later) == set()
    assert [x.id for x in snapshot(later, t("2026-01-01T10:00")).open_suspicions] == [
        "barcode-mismatch:adm-1"
    ]


def test_no_suspicion_when_the_mismatch_detector_is_off():
    text, n = re.subn(r"\[detectors\.barcode-mismatch\][^\n]*\nrule = \"BARCODE-MISMATCH\"\n", "", SHIPPED)
    assert n == 1
    policy = decode_policy(text.encode(), "no-mismatch.toml")
    state = project([normalise(x) for x in world() + [refused()]], policy)
    assert mismatches(state) == [] and state.anomalies == []


def test_an_unknown_barcode_is_no_mismatch():
    state = fold(world() + [refused(barcode="NOPE")])
    assert mismatches(state) == [] and state.anomalies == []


def test_the_refused_call_logged_five_minutes_later_is_the_same_incident():
    state = fold(world() + [refused(), call("c1", "2025-03-10T10:05", model="M2")])
    assert mismatches(state) == ["barcode-mismatch:adm-1"]


def test_the_refused_call_logged_at_the_same_instant_is_the_same_incident():
    # the router asks with the call's start time, the call centre logs that same time
    state = fold(world() + [call("c1", WHEN, model="M2"), refused()])
    assert mismatches(state) == ["barcode-mismatch:adm-1"]


def test_a_call_twenty_minutes_later_is_another_incident():
    state = fold(world() + [refused(), call("c1", "2025-03-10T10:20", model="M2")])
    assert mismatches(state) == ["barcode-mismatch:adm-1", "barcode-mismatch:c1"]


def test_a_call_stating_something_else_is_another_incident():
    state = fold(world() + [refused(), call("c1", "2025-03-10T10:05", site="s9")])
    assert mismatches(state) == ["barcode-mismatch:adm-1", "barcode-mismatch:c1"]


def test_one_refusal_covers_one_call():
    facts = world() + [
        refused(),
        call("c1", "2025-03-10T10:05", model="M2"),
        call("c2", "2025-03-10T10:10", model="M2"),
    ]
    assert mismatches(fold(facts)) == ["barcode-mismatch:adm-1", "barcode-mismatch:c2"]


def test_the_fact_is_written_only_for_a_mismatch_refusal():
    request = CallRequest(
        account_id="a1", number="13800000001", barcode="BC1", stated_model="M2", stated_site="s1"
    )

    def decision(*codes: str) -> AdmissionDecision:
        return AdmissionDecision(
            id="adm-7",
            at=t(WHEN),
            policy_version="3.0",
            request=request,
            admitted=not codes,
            reasons=tuple(Reason(code, "...") for code in codes),
            known_up_to=0,
        )

    assert refusal_fact(decision()) is None
    assert refusal_fact(decision("unknown-barcode")) is None
    assert refusal_fact(decision("unknown-account", "barcode-mismatch")) is None
    fact = refusal_fact(decision("no-certificate", "barcode-mismatch"))
    assert fact == f.AdmissionRefused(
        id="adm-7",
        at=t(WHEN),
        source="admission",
        account_id="a1",
        number="+8613800000001",
        barcode="BC1",
        stated_model="M2",
        stated_site="s1",
        reasons=("no-certificate", "barcode-mismatch"),
    )


def test_a_foreign_refusal_of_an_unknown_account_is_an_anomaly():
    fact = f.AdmissionRefused(
        id="adm-9",
        at=t(WHEN),
        source="admission",
        account_id="ghost",
        number=NUMBER,
        barcode="BC1",
        stated_model="M2",
        stated_site="s1",
        reasons=("barcode-mismatch",),
    )
    state = fold(world() + [fact])
    assert mismatches(state) == []
    assert [a.fact_id for a in state.anomalies] == ["adm-9"]


def test_a_checkpoint_between_the_refusal_and_the_call_keeps_the_incident():
    state = fold(world() + [refused()])
    image = msgspec.json.encode(state.detectors.history())  # as projections.checkpoint writes it
    detectors = CallDetectors(POLICY)
    detectors.restore(msgspec.json.decode(image, type=DetectorHistory), state.devices)
    the_call = normalise(call("c1", "2025-03-10T10:05", model="M2"))
    assert isinstance(the_call, f.CallReceived)
    assert detectors.observe(the_call, state.devices) == ()


def test_an_image_from_before_refusals_still_decodes():
    old = msgspec.json.decode(b"[{},{},{},{}]", type=DetectorHistory)
    assert old.refusals == {}


def test_no_feed_may_post_a_refusal_but_a_whole_log_moves_with_its_refusals():
    assert all(f.AdmissionRefused not in may_post(role) for role in Role)
    assert f.AdmissionRefused not in ROLES["crm"] | ROLES["callcentre"]
    assert f.AdmissionRefused in ROLES["any"]


def test_a_refusal_fact_must_record_a_mismatch():
    received = t("2025-03-10T11:00")
    assert semantic_problems(refused(), received) == []
    other = msgspec.structs.replace(refused(), reasons=("unknown-barcode",))
    assert semantic_problems(other, received) == [
        ("reasons", "an admission.refused fact records a 'barcode-mismatch' refusal")
    ]
