"""The policy as data: durations, counters, thresholds, deadlines and detectors, versioned.

The default pack `policies/3.0.toml` reproduces version 3.0 of the usage rules exactly. Every derived
event records the version of the policy that made it.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

from schemas.types import RuleId

EngineerWhen = Literal["confirmed", "serious", "after_warning", "codes_not_provided", "never"]
CompanyPenaltyKind = Literal["none", "each", "repeat", "until_maintenance"]


class RulePolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    engineer_months: int | None = None  # None with engineer_when != "never" means permanent
    engineer_when: EngineerWhen = "never"
    company_penalty: CompanyPenaltyKind = "none"
    company_months: int | None = None
    stop_support: bool = False
    request_codes: bool = False
    revoke_certificate: bool = False
    black_key_event: bool = False  # also requires a rectification plan


class DetectorPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    rule: RuleId
    auto_confirm: bool = False
    distinct: int = 2  # distinct problems / numbers that raise the suspicion
    window_days: int = 0  # 0: no window
    assumed_call_minutes: int = 15  # call length when the call centre sends no end time


class Policy(msgspec.Struct, frozen=True, dict=True, forbid_unknown_fields=True):
    version: str
    calendar_timezone: str
    minimum_stars: int
    rating_valid_months: int
    company_window_months: int
    codes_deadline_days: int
    rectification_deadline_days: int
    revocations_for_permanent: int
    black_key_company_months: int
    rating_min_engineers: dict[str, int]
    rating_certificate_margin_months: int
    response_minutes: dict[str, int]
    rules: dict[str, RulePolicy]
    detectors: dict[str, DetectorPolicy]

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.calendar_timezone)

    @cached_property
    def response_times(self) -> dict[str, timedelta]:
        return {level: timedelta(minutes=m) for level, m in self.response_minutes.items()}

    @cached_property
    def codes_deadline(self) -> timedelta:
        return timedelta(days=self.codes_deadline_days)

    @cached_property
    def rectification_deadline(self) -> timedelta:
        return timedelta(days=self.rectification_deadline_days)


class PolicyError(ValueError):
    pass


def load_policy(path: Path | None = None) -> Policy:
    """Load a policy pack; the default is version 3.0. A bad pack fails with the field at fault."""
    raw = path.read_bytes() if path else resources.files("domain").joinpath("policies/3.0.toml").read_bytes()
    try:
        policy = msgspec.toml.decode(raw, type=Policy)
    except msgspec.ValidationError as e:
        raise PolicyError(f"policy {path or '3.0'}: {e}") from None
    from schemas.types import RULE_IDS

    missing = set(RULE_IDS) - set(policy.rules)
    if missing:
        raise PolicyError(f"policy {policy.version}: no entry for rules {sorted(missing)}")
    return policy
