"""Policy packs for tests, made from the shipped 3.0 pack's text so they follow it as it grows."""

from __future__ import annotations

import re
from importlib import resources

from domain.policy import Policy, decode_policy

SHIPPED = resources.files("domain").joinpath("policies", "3.0.toml").read_text(encoding="utf-8")


def pack_text(label: str = "3.0", effective_from: str | None = None, **rule_months: int) -> str:
    """The 3.0 pack relabelled, with an effective time, and `RULE_ID=months` engineer terms changed
    (RULE_ID spelt with underscores: ACCOUNT_SHARED)."""
    text = SHIPPED.replace('version = "3.0"', f'version = "{label}"', 1)
    if effective_from is not None:
        text = text.replace(
            f'version = "{label}"', f'version = "{label}"\neffective_from = {effective_from}', 1
        )
    for rule, months in rule_months.items():
        section = re.compile(rf"(\[rules\.{rule.replace('_', '-')}\][^\[]*?engineer_months = )\d+")
        text, n = section.subn(rf"\g<1>{months}", text)
        assert n == 1, rule
    return text


def pack(label: str = "3.0", effective_from: str | None = None, **rule_months: int) -> Policy:
    return decode_policy(pack_text(label, effective_from, **rule_months).encode(), f"{label}.toml")
