"""The thaw path: the digest is checked on another thread while the body decodes, and the detectors
take a restored barcode's history only at its next call. Both must refuse and fold exactly as before."""

from __future__ import annotations

import hashlib

import pytest

from projections.checkpoint import _MAGIC, CorruptCheckpoint, freeze, thaw, verify
from projections.fold import apply_in_order, project
from projections.view import digest, snapshot
from schemas import facts as f
from schemas.codec import normalise
from tests.unit.builders import POLICY, call, device, world

HEAD = len(_MAGIC) + 32


def reuse_history() -> list[f.Fact]:
    facts = world() + [
        device("BC2", id="device-bc2"),
        call("c1", "2025-01-01T10:00", problem="disk failure"),
        call("c2", "2025-02-01T10:00", problem="fan noise", barcode="BC2"),
        call("c3", "2025-02-15T10:00", problem="fan noise"),
    ]
    return [normalise(x) for x in facts]


def test_a_barcode_restored_untouched_keeps_its_history_and_raises_reuse_at_its_next_call() -> None:
    facts = reuse_history()
    state = project(facts, POLICY)
    thawed, _, _ = thaw(freeze(state, None, len(facts)), POLICY)
    assert thawed.detectors.history() == state.detectors.history()
    later = [normalise(call("c4", "2025-03-01T10:00", problem="licence question"))]
    for s in (state, thawed):
        apply_in_order(s, later)
    assert "barcode-reuse:c4" in thawed.suspicions
    assert thawed.detectors.history() == state.detectors.history()
    assert digest(snapshot(thawed, None)) == digest(snapshot(state, None))
    # frozen again, a thawed state that took some barcodes back writes what the original writes
    assert thaw(freeze(thawed, None, 0), POLICY)[0].detectors.history() == state.detectors.history()


def test_a_restored_barcode_sees_the_device_installed_after_the_thaw() -> None:
    facts = reuse_history()
    thawed, _, _ = thaw(freeze(project(facts, POLICY), None, len(facts)), POLICY)
    moved = [
        normalise(device("BC2", "M9", at="2025-03-01T10:00", id="reinstall")),
        normalise(call("c5", "2025-03-02T10:00", barcode="BC2")),
    ]
    expected = project(facts + moved, POLICY)
    apply_in_order(thawed, moved)
    assert "barcode-mismatch:c5" in expected.suspicions
    assert thawed.suspicions.keys() == expected.suspicions.keys()


def test_an_altered_body_is_refused_whether_or_not_it_decodes() -> None:
    blob = freeze(project(reuse_history(), POLICY), None, 0)
    decodable = blob.replace(b'"disk failure"', b'"disk fAilure"')  # still a valid image
    assert decodable != blob
    not_json = blob[:HEAD] + b"\x00" + blob[HEAD + 1 :]
    for bad in (decodable, not_json, blob[:-10]):
        with pytest.raises(CorruptCheckpoint, match="digest"):
            thaw(bad, POLICY)
        with pytest.raises(CorruptCheckpoint, match="digest"):
            verify(bad)
    with pytest.raises(CorruptCheckpoint, match="cut short"):
        thaw(blob[: HEAD - 1], POLICY)


def test_a_sound_digest_over_a_foreign_body_is_refused() -> None:
    body = b'{"not": "a checkpoint"}'
    with pytest.raises(CorruptCheckpoint, match="not a checkpoint of this version"):
        thaw(_MAGIC + hashlib.sha256(body).digest() + body, POLICY)


def test_verify_gives_the_body_without_copying_it() -> None:
    blob = freeze(project(reuse_history(), POLICY), None, 0)
    body = verify(blob)
    assert bytes(body) == blob[HEAD:]
    assert body.obj is blob
