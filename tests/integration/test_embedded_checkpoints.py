"""The embedded log keeps checkpoints: commands resume from them, and answer as a full fold would.

Expected values from RULES.md: BARCODE-MISMATCH confirmed on 3 March 10:00 requests the codes with a
7-day deadline; none came, so at 10 March 10:00 the account and number are blacklisted 6 months, to
10 September 10:00 (+08:00).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from consumers.embedded import Hotline
from projections.timeline import Spacing
from schemas.codec import normalise
from schemas.facts import Fact
from storage import resume
from storage.log import EmbeddedLog
from tests.unit.builders import NUMBER, OTHER_NUMBER, POLICY, call, confirm, report, t, world


@pytest.fixture(autouse=True)
def small_spacing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resume, "EMBEDDED_SPACING", Spacing(min_facts=25, cost_ratio=0))
    monkeypatch.setattr(resume, "TAIL", 5)


def history() -> list[Fact]:
    facts = world(("a1", "a2"))
    facts += [
        call(f"f{i}", f"2025-02-{1 + i // 10:02d}T{8 + i % 10:02d}:00", "a2", OTHER_NUMBER)
        for i in range(200)
    ]
    facts += [call("c1", "2025-03-01T09:00", "a1", NUMBER, site="elsewhere")]
    facts += [report("R1", "BARCODE-MISMATCH", "2025-03-01T12:00", "a1", call_id="c1")]
    facts += [confirm("R1", "2025-03-03T10:00", id="conf-R1")]
    return [normalise(f) for f in facts]


def open_hotline(path: Path) -> Hotline:
    return Hotline.of(EmbeddedLog(path), POLICY)


def test_the_codes_deadline_blacklists_and_a_past_question_does_not_see_it(tmp_path: Path) -> None:
    log = tmp_path / "log.db"
    with EmbeddedLog(log) as embedded:
        embedded.append(history())
    hl = open_hotline(log)
    everything = hl.state()  # as `replay`: every deadline fired
    penalty = everything.penalties["R1/account"]
    assert (penalty.at, penalty.until) == (
        datetime(2025, 3, 10, 2, 0, tzinfo=UTC),
        datetime(2025, 9, 10, 2, 0, tzinfo=UTC),
    )
    assert everything.codes_requests["R1"].result == "deadline passed"
    before = hl.state(t("2025-03-05T10:00"))  # after the last fact, before the deadline
    assert "R1/account" not in before.penalties
    assert before.codes_requests["R1"].result is None
    hl.log.close()


def test_a_second_command_resumes_instead_of_refolding(tmp_path: Path) -> None:
    log = tmp_path / "log.db"
    with EmbeddedLog(log) as embedded:
        embedded.append(history())
    first = open_hotline(log)
    first.state()
    assert first.projector().last_refold is not None
    assert first.projector().last_refold.facts == len(history())  # the first one folds everything
    first.log.close()
    second = open_hotline(log)
    second.state()
    refold = second.projector().last_refold
    assert refold is not None and refold.facts == 0  # a checkpoint was left at the end
    # A late fact appended since: only what follows it is refolded.
    second.log.append([normalise(call("late", "2025-02-20T08:30", "a2", OTHER_NUMBER))])
    state = second.state()
    refold = second.projector().last_refold
    assert refold is not None and refold.since is not None and refold.since[0] < t("2025-02-20T08:30")
    assert refold.facts < len(history()) // 2
    assert "late" in state.calls
    second.log.close()


def test_a_damaged_checkpoint_is_discarded_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "log.db"
    with EmbeddedLog(log) as embedded:
        embedded.append(history())
    hl = open_hotline(log)
    want = hl.state().penalties["R1/number"]
    hl.log.db.execute("UPDATE checkpoints SET blob = substr(blob, 1, length(blob) - 7)")
    hl.log.close()
    caplog.set_level(logging.WARNING)
    again = open_hotline(log)
    assert again.state().penalties["R1/number"] == want
    assert any("discarded" in r.getMessage() for r in caplog.records)
    again.log.close()


def test_another_policy_starts_over(tmp_path: Path) -> None:
    import msgspec

    log = tmp_path / "log.db"
    with EmbeddedLog(log) as embedded:
        embedded.append(history())
    hl = open_hotline(log)
    hl.state()
    hl.log.close()
    stricter = msgspec.structs.replace(POLICY, codes_deadline_days=14)
    other = Hotline.of(EmbeddedLog(log), stricter)
    penalty = other.state().penalties["R1/account"]
    assert penalty.at == datetime(2025, 3, 17, 2, 0, tzinfo=UTC)  # a 14-day deadline
    assert other.projector().last_refold is not None
    assert other.projector().last_refold.facts == len(history())
    other.log.close()
