"""A policy pack is checked when loaded (one line naming the field), and identified by its content."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from domain.policy import PolicyError, decode_policy, load_policy

from .policy_packs import SHIPPED, pack, pack_text


def refused(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(PolicyError) as e:
        decode_policy(raw, "bad.toml")
    message = str(e.value)
    assert "\n" not in message and "bad.toml" in message
    return message


ACCOUNT_SHARED = '[rules.ACCOUNT-SHARED]\nengineer_when = "confirmed"\nengineer_months = 3'


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        (ACCOUNT_SHARED, ACCOUNT_SHARED.replace("= 3", "= -3"), "ACCOUNT-SHARED"),  # negative months
        (ACCOUNT_SHARED, ACCOUNT_SHARED.replace("= 3", "= 0"), "engineer_months"),
        (ACCOUNT_SHARED, ACCOUNT_SHARED.replace("= 3", "= 999999"), "engineer_months"),  # crashed the fold
        ("revocations_for_permanent = 3", "revocations_for_permanent = 0", "revocations_for_permanent"),
        ("minimum_stars = 2", "minimum_stars = 5", "minimum_stars"),
        ("minimum_stars = 2", "minimum_stars = 1", "minimum_stars"),
        ("codes_deadline_days = 7", "codes_deadline_days = -7", "codes_deadline_days"),
        ("rating_valid_months = 12", "rating_valid_months = 0", "rating_valid_months"),
        ("[rules.OTHER-IRREGULAR]", "[rules.OTHER-IRREGULAR]\n[rules.NO-SUCH-RULE]", "NO-SUCH-RULE"),
        ("[rules.OTHER-IRREGULAR]", "[rules.OTHER-IRREGULARITY]", "OTHER-IRREGULAR"),  # and it is missing
        ('rule = "BARCODE-REUSE"', 'rule = "BARCODE-REUSED"', "rule"),  # a detector's rule
        ("[detectors.evasion]", "[detectors.evasions]", "evasions"),
        ("distinct = 3", "distinct = 1", "distinct"),
        ("window_days = 90", "window_days = -1", "window_days"),
        ('calendar_timezone = "Asia/Shanghai"', 'calendar_timezone = "Asia/Shanghia"', "calendar_timezone"),
        (
            'calendar_timezone = "Asia/Shanghai"',
            'calendar_timezone = "../../etc/passwd"',
            "calendar_timezone",
        ),
        ("L4 = 120", "L5 = 120", "L5"),  # an unknown fault level
        ("L4 = 120", "", "L4"),  # a fault level with no response target
        ('version = "3.0"', 'version = "3.0+sha256:0000"', "version"),  # a label cannot pose as an identity
        ('version = "3.0"', 'version = "3.0"\neffective_from = 2025-06-01', "effective_from"),  # a date
        (
            'version = "3.0"',
            'version = "3.0"\neffective_from = 2025-06-01T00:00:00',
            "effective_from",
        ),  # no offset
        ('version = "3.0"', 'version = "3.0"\nsurprise = 1', "surprise"),
        ("[rules.CERT-FRAUD]", "[rules.CERT-FRAUD]\nengineer_months = 3", "CERT-FRAUD.engineer_months"),
    ],
)
def test_a_bad_pack_is_refused_naming_the_field(old: str, new: str, named: str) -> None:
    assert SHIPPED.count(old) >= 1
    assert named in refused(SHIPPED.replace(old, new, 1))


def test_every_rule_needs_an_entry() -> None:
    start = SHIPPED.index("[rules.OTHER-IRREGULAR]")
    end = SHIPPED.index("\n\n", start)
    assert "OTHER-IRREGULAR" in refused(SHIPPED[:start] + SHIPPED[end:])


def test_not_toml_and_not_utf8_are_one_line() -> None:
    refused('version = "3.0"\nminimum_stars = [')
    refused(SHIPPED.encode("utf-16"))
    refused(b"\xff\xfe\x00version")


def test_an_unreadable_path_is_one_line(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.toml", tmp_path):
        with pytest.raises(PolicyError) as e:
            load_policy(path)
        assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_the_shipped_pack_is_labelled_3_0() -> None:
    assert load_policy().version == "3.0"
    assert load_policy().label == "3.0"


def test_comments_spacing_and_spelt_out_defaults_do_not_change_the_identity(tmp_path: Path) -> None:
    text = "# a copy\n" + SHIPPED.replace("minimum_stars = 2", "minimum_stars   =   2   # two or more")
    text = text.replace("[rules.CERT-FRAUD]", "[rules.CERT-FRAUD]\nstop_support = false")  # the default
    (tmp_path / "copy.toml").write_text(text, encoding="utf-8")
    assert load_policy(tmp_path / "copy.toml").version == "3.0"


def test_an_edited_pack_keeps_its_label_but_not_the_version() -> None:
    edited = pack(ACCOUNT_SHARED=4)
    assert edited.label == "3.0"
    label, _, digest = edited.version.partition("+sha256:")
    assert label == "3.0" and len(digest) == 12 and int(digest, 16) >= 0
    assert pack(ACCOUNT_SHARED=5).version != edited.version
    assert pack(ACCOUNT_SHARED=4).version == edited.version  # the same content, the same version


def test_a_pack_changed_in_code_is_identified_too() -> None:
    changed = msgspec.structs.replace(load_policy(), codes_deadline_days=14)
    assert changed.version.startswith("3.0+sha256:")


def test_a_new_label_with_no_shipped_pack_carries_its_hash() -> None:
    assert pack("3.1").version.startswith("3.1+sha256:")
    assert pack_text("3.1") != SHIPPED
