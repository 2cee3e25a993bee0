"""A sealed log decides exactly as a clear one (docs/privacy.md): the fold of sealed facts, its
pseudonyms shown through the key store, is the fold of the clear facts; forgetting anyone changes
no digest."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings

from domain.policy import load_policy
from privacy.reveal import Revealer
from projections.fold import project
from projections.view import digest, snapshot
from schemas import facts as f
from storage.keystore import KeyStore
from tests.property.strategies import at, fact_sets

POLICY = load_policy()
AS_OF = at(60 * 24 * 400)
_LISTED = re.compile(r"\[('[^\]]*')\]")


def _canonical(document: str) -> str:
    """A detail that lists numbers sorts them, and pseudonyms sort in another order than numbers: the
    same numbers listed, in whichever order, are the same detail."""
    return _LISTED.sub(lambda m: "[" + ", ".join(sorted(m.group(1).split(", "))) + "]", document)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=fact_sets())
def test_the_sealed_fold_shown_in_clear_is_the_clear_fold(facts: list[f.Fact]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        keys = KeyStore(Path(tmp) / "k", create=True)
        sealed = keys.seal_all(facts)
        clear_view = msgspec.json.encode(snapshot(project(facts, POLICY, AS_OF), AS_OF)).decode()
        sealed_snap = snapshot(project(sealed, POLICY, AS_OF), AS_OF)
        shown = Revealer(keys.reveal).json(msgspec.json.encode(sealed_snap).decode())
        assert _canonical(shown) == _canonical(clear_view)
        before = digest(sealed_snap)
        for person in {x.person_id for x in facts if isinstance(x, f.AccountOpened)}:
            keys.forget_person(person, by="test")
        assert digest(snapshot(project(sealed, POLICY, AS_OF), AS_OF)) == before
        keys.close()
