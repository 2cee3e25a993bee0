"""RULES.md "Policy versions are effective-dated": each fact is judged under the version in force at
its instant, and a later version never rewrites earlier consequences.

3.0 (the shipped pack): ACCOUNT-SHARED 3 months, BARCODE-MISMATCH 6 months after a 7-day codes deadline.
3.1 (made here), in force from 2025-06-01 00:00 +08:00: ACCOUNT-SHARED 6 months, BARCODE-MISMATCH 12.
Expected end dates are counted by hand in calendar months on the line's calendar.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from domain.policy import PolicyError, decode_policy
from domain.policy_history import PolicyHistory, load_policies
from projections.checkpoint import freeze, policy_fingerprint, thaw
from projections.fold import project
from projections.projector import Projector
from projections.timeline import MemoryCheckpoints, Spacing
from projections.view import digest, snapshot
from projections.whatif import whatif
from schemas.codec import normalise

from .builders import NUMBER, POLICY, blacklisted, call, case, codes, confirm, report, t, world
from .policy_packs import pack, pack_text

V31 = pack("3.1", "2025-06-01T00:00:00+08:00", ACCOUNT_SHARED=6, BARCODE_MISMATCH=12)
HISTORY = PolicyHistory([POLICY, V31])


def shared(rid: str, call_id: str, confirmed: str) -> list:
    """An ACCOUNT-SHARED report on a call the day before, confirmed at `confirmed`."""
    day_before = (t(confirmed) - timedelta(days=1)).isoformat()[:10]
    return [
        call(call_id, day_before + "T08:00", case_id=f"K-{rid}"),
        case(f"K-{rid}", call_id, day_before + "T08:05"),
        report(rid, "ACCOUNT-SHARED", day_before + "T09:00", call_id=call_id, case_id=f"K-{rid}"),
        confirm(rid, confirmed),
    ]


def fold(facts: list, history: PolicyHistory = HISTORY, as_of: str | None = None):
    return project([normalise(x) for x in facts], history, t(as_of) if as_of else None)


def test_a_penalty_confirmed_before_the_change_keeps_its_version_and_term() -> None:
    state = fold(world() + shared("R1", "c1", "2025-01-17T10:00") + shared("R2", "c2", "2025-07-01T10:00"))
    early, late = state.penalties["R1/account"], state.penalties["R2/account"]
    assert (early.policy_version, early.until) == ("3.0", t("2025-04-17T10:00"))
    assert (late.policy_version, late.until) == (V31.version, t("2026-01-01T10:00"))
    assert V31.version.startswith("3.1+sha256:")
    assert state.violations["R1"].policy_version == "3.0"
    assert state.penalties["R1/number"].until == t("2025-04-17T10:00")
    assert state.penalties["R2/number"].until == t("2026-01-01T10:00")
    # the 2025-01-17 penalty had expired, and stays expired: 3.1 does not bring it back
    assert not blacklisted(state, "account", "a1", "2025-05-31T10:00")
    assert not blacklisted(
        fold(world() + shared("R1", "c1", "2025-01-17T10:00")), "number", NUMBER, "2025-07-01"
    )


@pytest.mark.parametrize(
    ("confirmed", "version", "until"),
    [
        ("2025-05-31T23:59", "3.0", "2025-08-31T23:59"),  # the last minute of 3.0
        ("2025-06-01T00:00", "3.1", "2025-12-01T00:00"),  # 3.1 applies from its effective time
    ],
)
def test_the_version_changes_at_its_effective_time(confirmed: str, version: str, until: str) -> None:
    penalty = fold(world() + shared("R1", "c1", confirmed)).penalties["R1/account"]
    assert penalty.policy_version.split("+")[0] == version
    assert penalty.until == t(until)


def test_a_deadline_passing_under_a_later_version_applies_its_violations_terms() -> None:
    facts = world() + [
        call("call1", "2025-05-27T15:00", case_id="K1"),
        case("K1", "call1", "2025-05-27T15:05"),
        report("R1", "BARCODE-MISMATCH", "2025-05-28T09:00", call_id="call1", case_id="K1"),
        confirm("R1", "2025-05-28T10:00"),  # under 3.0: codes due 2025-06-04 10:00, under 3.1 by then
    ]
    penalty = fold(facts).penalties["R1/account"]
    assert (penalty.at, penalty.until) == (t("2025-06-04T10:00"), t("2025-12-04T10:00"))  # 6 months, not 12
    assert penalty.policy_version == "3.0"
    refused = fold([*facts, codes("R1", "2025-06-02T10:00", "refused")]).penalties["R1/account"]
    assert (refused.at, refused.until, refused.policy_version) == (
        t("2025-06-02T10:00"),
        t("2025-12-02T10:00"),
        "3.0",
    )


def test_detectors_keep_what_they_saw_under_new_thresholds() -> None:
    """barcode-reuse: 3 distinct problems in 90 days under 3.0; 2 under a version from June."""
    stricter = pack_text("3.2", "2025-06-01T00:00:00+08:00").replace("distinct = 3", "distinct = 2", 1)
    history = PolicyHistory([POLICY, decode_policy(stricter.encode(), "3.2.toml")])
    calls = world() + [
        call("c1", "2025-05-10T10:00", problem="disk failure"),
        call("c2", "2025-05-20T10:00", problem="fan noise"),
    ]
    assert not fold(calls, history).suspicions  # two problems: below 3.0's three
    state = fold([*calls, call("c3", "2025-06-05T10:00", problem="disk failure")], history)
    assert set(state.suspicions) == {"barcode-reuse:c3"}  # the May problems still count in June
    assert not fold([*calls, call("c3", "2025-06-05T10:00", problem="disk failure")], POLICY).suspicions


def test_the_earliest_version_covers_what_came_before_it() -> None:
    alone = fold(world() + shared("R1", "c1", "2025-01-17T10:00"), PolicyHistory([V31]))
    assert alone.penalties["R1/account"].until == t("2025-07-17T10:00")  # 3.1 alone: as `--policy` was


def test_a_one_version_history_is_the_pack() -> None:
    facts = world() + shared("R1", "c1", "2025-01-17T10:00") + shared("R2", "c2", "2025-07-01T10:00")
    assert digest(snapshot(fold(facts, PolicyHistory([POLICY])), None)) == digest(
        snapshot(project([normalise(x) for x in facts], POLICY), None)
    )
    assert policy_fingerprint(PolicyHistory([POLICY])) == policy_fingerprint(POLICY) == POLICY.fingerprint
    assert policy_fingerprint(HISTORY) != policy_fingerprint(POLICY)


def test_a_checkpoint_belongs_to_its_history() -> None:
    facts = [normalise(x) for x in world() + shared("R1", "c1", "2025-01-17T10:00")]
    blob = freeze(project(facts, HISTORY), None, len(facts))
    assert thaw(blob, HISTORY)[0].penalties["R1/account"].until == t("2025-04-17T10:00")
    with pytest.raises(ValueError):
        thaw(blob, POLICY)


def test_the_projector_under_a_history_equals_the_fold() -> None:
    facts = [normalise(x) for x in world() + shared("R1", "c1", "2025-01-17T10:00")]
    facts += [normalise(x) for x in shared("R2", "c2", "2025-07-01T10:00")]
    projector = Projector(
        HISTORY, checkpoints=MemoryCheckpoints(4), spacing=Spacing(min_facts=2, cost_ratio=0)
    )
    projector.add(facts[len(facts) // 2 :])
    projector.add(facts[: len(facts) // 2])  # late: a refold from a checkpoint
    assert digest(snapshot(projector.state(), None)) == digest(snapshot(project(facts, HISTORY), None))
    now = t("2025-06-15")
    assert digest(snapshot(projector.state_at(now), now)) == digest(
        snapshot(project(facts, HISTORY, now), now)
    )


def test_a_draft_is_a_what_if_history() -> None:
    draft = pack("3.1-draft", ACCOUNT_SHARED=12)
    what_if = HISTORY.including(draft, t("2025-01-01T00:00"))
    assert [p.label for p in what_if.versions] == ["3.0", "3.1-draft", "3.1"]
    state = fold(world() + shared("R1", "c1", "2025-01-17T10:00"), what_if)
    assert state.penalties["R1/account"].until == t("2026-01-17T10:00")
    assert HISTORY.at(t("2025-01-17T10:00")) is POLICY  # the record's history is untouched


def test_histories_are_loaded_from_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(pack_text("3.1", "2025-06-01T00:00:00+08:00", ACCOUNT_SHARED=6))
    (tmp_path / "b.toml").write_text(pack_text())
    history = load_policies([tmp_path])
    assert [p.label for p in history.versions] == ["3.0", "3.1"]
    assert history.at(t("2025-05-31T23:59")).version == "3.0"
    assert history.at(t("2025-06-01T00:00")).label == "3.1"
    assert load_policies([]).versions == (POLICY,)
    assert load_policies([tmp_path / "b.toml"]).versions == (POLICY,)


@pytest.mark.parametrize(
    ("packs", "named"),
    [
        ([pack_text("3.0"), pack_text("2.9")], "effective_from"),  # two versions from the start of time
        (
            [pack_text("3.1", "2025-06-01T00:00:00+08:00"), pack_text("3.2", "2025-05-31T16:00:00Z")],
            "same time",
        ),
    ],
)
def test_a_history_that_cannot_be_ordered_is_refused(tmp_path: Path, packs: list[str], named: str) -> None:
    for i, text in enumerate(packs):
        (tmp_path / f"{i}.toml").write_text(text)
    with pytest.raises(PolicyError) as e:
        load_policies([tmp_path])
    assert named in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(PolicyError):
        load_policies([tmp_path / "empty-dir-does-not-exist"])


def test_whatif_lists_what_a_draft_would_change() -> None:
    facts = [normalise(x) for x in world() + shared("R1", "c1", "2025-01-17T10:00")]
    longer = whatif(facts, HISTORY, pack("draft", ACCOUNT_SHARED=12), t("2025-01-01T00:00"))
    assert [c.penalty_id for c in longer.differences.changed] == ["R1/account", "R1/number"]
    change = longer.differences.changed[0]
    assert change.recorded is not None and change.draft is not None
    assert (change.recorded.until, change.draft.until) == (t("2025-04-17T10:00"), t("2026-01-17T10:00"))
    assert not longer.differences.added and not longer.differences.removed
    assert longer.recorded.penalties["R1/account"].policy_version == "3.0"  # the record stands
    terms = dict(POLICY.rules)
    terms["ACCOUNT-SHARED"] = msgspec.structs.replace(
        terms["ACCOUNT-SHARED"], engineer_when="never", engineer_months=None
    )
    lenient = msgspec.structs.replace(POLICY, label="lenient", rules=terms)
    none = whatif(facts, HISTORY, lenient, t("2025-01-01T00:00")).differences
    assert [c.penalty_id for c in none.removed] == ["R1/account", "R1/number"]
    assert whatif(facts, HISTORY, lenient, t("2025-02-01T00:00")).differences.removed == []  # too late
    assert msgspec.json.decode(msgspec.json.encode(none))["draft_version"].startswith("lenient+sha256:")
