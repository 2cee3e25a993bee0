"""Sealing (docs/privacy.md): personal fields become pseudonyms and ciphertext, the same fact seals to
the same bytes, and destroying a person's keys erases what they opened, nothing else."""

from __future__ import annotations

import base64
from pathlib import Path

import msgspec
import pytest
from cryptography.exceptions import InvalidTag

from domain.phone import normalise
from privacy.pseudonyms import ANY_PSEUDONYM, number_pseudonym, person_pseudonym, problem_pseudonym
from privacy.reveal import ERASED, Revealer
from privacy.sealing import decrypt, encrypt, opened, seal
from schemas.codec import to_msgpack
from schemas.facts import CaseTransferred, PenaltyLifted
from storage.keystore import KeyStore, KeyStoreError
from tests.unit.builders import SRC, account, call, case, t

PEPPER = bytes(range(32))


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "h.db.keys", create=True)


def test_a_number_pseudonym_keeps_a_phone_numbers_shape_and_is_one_per_number() -> None:
    spellings = ["+86 134 1532 3691", "13415323691", "0086 134 1532 3691", "+86-134-1532-3691"]
    pseudonyms = {number_pseudonym(PEPPER, normalise(s)) for s in spellings}
    assert len(pseudonyms) == 1
    (p,) = pseudonyms
    assert p.startswith("+000") and len(p) == 32 and p[1:].isdigit()
    assert normalise(p) == p  # a subject as it stands: the schemas and admission take it
    assert number_pseudonym(PEPPER, p) == p
    assert number_pseudonym(bytes(32), "+8613415323691") != p  # another line's pepper, another name


def test_person_and_problem_pseudonyms() -> None:
    p1 = person_pseudonym(PEPPER, "P-1")
    assert p1 == person_pseudonym(PEPPER, "P-1") != person_pseudonym(PEPPER, "P-2")
    assert p1.startswith("person-") and len(p1) == 33
    # the detectors compare problems casefolded and with spaces collapsed: so do their pseudonyms
    assert problem_pseudonym(PEPPER, "Disk  FAILURE") == problem_pseudonym(PEPPER, "disk failure")
    assert problem_pseudonym(PEPPER, "disk failure") != problem_pseudonym(PEPPER, "fan noise")


def test_a_call_is_stored_with_pseudonyms_and_one_ciphertext(keys: KeyStore) -> None:
    clear = call("c1", "2025-02-01T09:00", number="+8613415323691", problem="Disk failure")
    sealed = seal(clear, keys)
    assert sealed.number == number_pseudonym(keys.pepper, "+8613415323691")  # type: ignore[attr-defined]
    assert sealed.problem == problem_pseudonym(keys.pepper, "disk failure")  # type: ignore[attr-defined]
    assert sealed.account_id == "a1" and sealed.barcode == "BC1"  # type: ignore[attr-defined]
    body = to_msgpack(sealed)
    assert b"3415323691" not in body and b"Disk failure" not in body
    assert opened(sealed, keys) == {"number": "+8613415323691", "problem": "Disk failure"}
    assert seal(clear, keys) == sealed  # a re-sent line is a duplicate, not a conflict


def test_an_account_opening_seals_the_person_and_links_the_account(keys: KeyStore) -> None:
    sealed = seal(account("a1", person="P-1"), keys)
    assert sealed.person_id == person_pseudonym(keys.pepper, "P-1")  # type: ignore[attr-defined]
    assert keys.knows_person("P-1") and not keys.knows_person("P-2")
    assert keys.reveal([sealed.person_id]) == {sealed.person_id: "P-1"}  # type: ignore[attr-defined]


def test_a_note_is_sealed_under_the_account_its_case_is_about(keys: KeyStore) -> None:
    seal(account("a1", person="P-1"), keys)
    seal(case("k1", "c1", "2025-02-01T09:00", "a1"), keys)
    transfer = CaseTransferred(id="tr1", at=t("2025-02-02T09:00"), source=SRC, case_id="k1", note="Li asked")
    lift = PenaltyLifted(id="pl1", at=t("2025-02-03T09:00"), source=SRC, penalty_id="p1", reason="agreed")
    about_a1, about_no_one = seal(transfer, keys), seal(lift, keys)
    assert about_a1.note == "" and about_no_one.reason == ""  # type: ignore[attr-defined]
    assert opened(about_a1, keys) == {"note": "Li asked"}
    keys.forget_person("P-1", by="staff")
    assert opened(about_a1, keys) is None  # the case's account was P-1's
    assert opened(about_no_one, keys) == {"reason": "agreed"}  # under the line's key: nobody's erasure


def test_forgetting_a_person_erases_what_their_keys_opened_and_nothing_else(keys: KeyStore) -> None:
    seal(account("a1", person="P-1"), keys)
    seal(account("a2", person="P-2"), keys)
    mine = seal(call("c1", "2025-02-01T09:00", "a1", number="+8613415323691"), keys)
    theirs = seal(call("c2", "2025-02-01T09:05", "a2", number="+8613800000002"), keys)
    assert keys.forget_person("P-1", by="staff") == 1
    assert opened(mine, keys) is None
    assert opened(theirs, keys) == {"number": "+8613800000002", "problem": "disk failure"}
    shown = Revealer(keys.reveal)
    assert shown.text(f"from {mine.number}") == f"from {ERASED}"  # type: ignore[attr-defined]
    assert shown.text(f"from {theirs.number}") == "from +8613800000002"  # type: ignore[attr-defined]
    assert keys.forgotten_at("P-1") is not None and keys.forgotten_at("P-2") is None
    assert keys.forget_person("P-1", by="staff") == 0


def test_an_altered_ciphertext_or_context_is_refused() -> None:
    key = bytes(32)
    blob = encrypt(key, b"+8613415323691", b"c1")
    assert decrypt(key, blob, b"c1") == b"+8613415323691"
    with pytest.raises(InvalidTag):
        decrypt(key, blob, b"c2")
    with pytest.raises(InvalidTag):
        decrypt(key, blob[:-1] + bytes([blob[-1] ^ 1]), b"c1")


def test_a_fact_is_sealed_once(keys: KeyStore) -> None:
    sealed = seal(call("c1", "2025-02-01T09:00"), keys)
    with pytest.raises(ValueError, match="sealed"):
        seal(sealed, keys)


def test_revealing_json_escapes_the_clear_value(keys: KeyStore) -> None:
    sealed = seal(account("a1", person='P "1"'), keys)
    document = msgspec.json.encode({"person": sealed.person_id}).decode()  # type: ignore[attr-defined]
    assert msgspec.json.decode(Revealer(keys.reveal).json(document)) == {"person": 'P "1"'}


def test_no_pseudonym_is_found_inside_a_longer_word() -> None:
    assert not ANY_PSEUDONYM.search("context-abcdefghijklmnopqrstuvwxyz")
    assert not ANY_PSEUDONYM.search("+00051532381573022699166023570291")  # 29 digits: not one


def test_a_missing_key_store_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="no key store"):
        KeyStore(tmp_path / "missing.keys")


def test_the_pepper_survives_reopening(tmp_path: Path) -> None:
    first = KeyStore(tmp_path / "k", create=True).pepper
    assert KeyStore(tmp_path / "k").pepper == first
    assert base64.b64encode(first) != base64.b64encode(bytes(32))
