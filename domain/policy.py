"""The policy as data: durations, counters, thresholds, deadlines and detectors, versioned.

The default pack `policies/3.0.toml` reproduces version 3.0 of the usage rules exactly. Every derived
event records the version of the policy that made it: the pack's label when the content is exactly a
pack shipped under that label, else the label and a hash of the content ("3.0+sha256:1a2b3c4d5e6f"), so
an edited pack can never pass for the version it was copied from (docs/policy.md).

A pack is checked when it is loaded: bounds per field (msgspec.Meta), then `Policy.validate()` for what
spans fields. Every failure is one PolicyError line that names the pack and the field path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime, timedelta
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from schemas.types import RULE_IDS, FaultLevel, RuleId

EngineerWhen = Literal["confirmed", "serious", "after_warning", "codes_not_provided", "never"]
CompanyPenaltyKind = Literal["none", "each", "repeat", "until_maintenance"]
DetectorName = Literal["barcode-mismatch", "barcode-reuse", "shared-account", "case-reuse", "evasion"]
StarLevel = Literal["2", "3", "4"]

# Bounds: a term longer than a century is a typo, and calendar arithmetic on it could leave the years
# a datetime can hold (999,999 months did, and stopped the fold).
Months = Annotated[int, msgspec.Meta(ge=1, le=1200)]
Days = Annotated[int, msgspec.Meta(ge=1, le=3650)]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=525_600)]
Count = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Label = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")]  # no "+": see version
Instant = Annotated[datetime, msgspec.Meta(tz=True)]

#: Hex digits of the content hash shown in a version: 48 bits tell edits apart; the full hash is
#: what a pack is compared with (`shipped`), so the short form never vouches for anything.
VERSION_HASH_DIGITS = 12


class PolicyError(ValueError):
    """A pack that cannot be used, in one line naming the pack and the field at fault."""


class RulePolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    engineer_months: Months | None = None  # None with engineer_when != "never" means permanent
    engineer_when: EngineerWhen = "never"
    company_penalty: CompanyPenaltyKind = "none"
    company_months: Months | None = None  # None with "each"/"repeat" means permanent
    stop_support: bool = False
    request_codes: bool = False
    revoke_certificate: bool = False
    black_key_event: bool = False  # also requires a rectification plan

    def problems(self) -> list[str]:
        """Fields that contradict each other: a term for a penalty the rule never imposes."""
        found = []
        if self.engineer_when == "never" and self.engineer_months is not None:
            found.append("engineer_months: set, but engineer_when is never")
        if self.company_penalty in ("none", "until_maintenance") and self.company_months is not None:
            found.append(f"company_months: set, but company_penalty is {self.company_penalty}")
        if self.engineer_when == "codes_not_provided" and not self.request_codes:
            found.append("engineer_when: codes_not_provided needs request_codes = true")
        return found


class DetectorPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    rule: RuleId
    auto_confirm: bool = False
    # distinct problems / numbers that raise the suspicion: one alone is every call
    distinct: Annotated[int, msgspec.Meta(ge=2, le=1000)] = 2
    window_days: Annotated[int, msgspec.Meta(ge=0, le=36_500)] = 0  # 0: no window
    assumed_call_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 15  # call length with no end time


class Policy(msgspec.Struct, frozen=True, dict=True, forbid_unknown_fields=True):
    label: Label = msgspec.field(name="version")  # as the pack says; `version` is what is recorded
    calendar_timezone: str
    minimum_stars: Annotated[int, msgspec.Meta(ge=2, le=4)]
    rating_valid_months: Months
    company_window_months: Months
    codes_deadline_days: Days
    rectification_deadline_days: Days
    revocations_for_permanent: Count
    black_key_company_months: Months
    # Keys are checked in validate(): Literal keys would make every lookup by a plain str a type error.
    rating_min_engineers: dict[str, Count]
    rating_certificate_margin_months: Months
    response_minutes: dict[str, Minutes]
    rules: dict[str, RulePolicy]
    detectors: dict[str, DetectorPolicy]
    effective_from: Instant | None = None  # None: in force from the start of time (docs/policy.md)
    # Seed 002: resolution targets, in days of running SLA clock (paused while waiting on the partner);
    # "resolved within half a month" is 15 days (docs/sla.md). A level not listed has no such target.
    resolution_days: dict[FaultLevel, Days] = msgspec.field(default_factory=lambda: {"complaint": 15})

    def validate(self) -> None:
        """What one field's bounds cannot say; the first problem, as `field: reason`."""
        try:
            ZoneInfo(self.calendar_timezone)
        except (ZoneInfoNotFoundError, ValueError):  # ValueError: a key that is not a zone path
            zone = self.calendar_timezone
            raise PolicyError(f"calendar_timezone: {zone!r} is not an IANA time zone") from None
        keyed: dict[str, tuple[Collection[str], tuple[str, ...], bool]] = {
            # table: (its keys, the known keys, whether every known key needs an entry)
            "rules": (self.rules, RULE_IDS, True),
            "detectors": (self.detectors, get_args(DetectorName), False),
            "rating_min_engineers": (self.rating_min_engineers, get_args(StarLevel), True),
            "response_minutes": (self.response_minutes, get_args(FaultLevel), True),
        }
        for name, (keys, known, every) in keyed.items():
            unknown = [key for key in keys if key not in known]
            if unknown:
                raise PolicyError(f"{name}.{unknown[0]}: unknown; known: {', '.join(known)}")
            missing = [key for key in known if key not in keys]
            if every and missing:
                raise PolicyError(f"{name}: no entry for {', '.join(missing)}")
        for rule, terms in self.rules.items():
            for problem in terms.problems():
                raise PolicyError(f"rules.{rule}.{problem}")

    @cached_property
    def fingerprint(self) -> str:
        return policy_fingerprint(self)

    @cached_property
    def version(self) -> str:
        """What derived events record: the label for a shipped pack, else the label and content hash."""
        if shipped().get(self.label) == self.fingerprint:
            return self.label
        return f"{self.label}+sha256:{self.fingerprint[:VERSION_HASH_DIGITS]}"

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


def policy_fingerprint(policy: Policy) -> str:
    """SHA-256 (hex) of the pack's content in canonical form: the decoded pack re-encoded as JSON with
    sorted keys and every default written out. Comments, spacing, key order and spelling out a default
    do not change it; any value that the fold reads does."""
    return hashlib.sha256(msgspec.json.encode(policy, order="sorted")).hexdigest()


def decode_policy(raw: bytes, name: str) -> Policy:
    """A pack from its bytes; PolicyError (one line, naming `name`) when it cannot be used."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyError(f"policy {name}: not UTF-8 text (byte {e.start})") from None
    try:
        policy = msgspec.toml.decode(text, type=Policy)
    except msgspec.ValidationError as e:
        raise PolicyError(f"policy {name}: {_entry_at_fault(text) or e}") from None
    except msgspec.DecodeError as e:
        raise PolicyError(f"policy {name}: not valid TOML ({_one_line(e)})") from None
    try:
        policy.validate()
    except PolicyError as e:
        raise PolicyError(f"policy {name}: {e}") from None
    return policy


def load_policy(path: Path | None = None) -> Policy:
    """Load a policy pack; the default is version 3.0. A bad pack fails with the field at fault."""
    if path is None:
        return default_policy()
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise PolicyError(f"policy {path}: cannot read it ({e.strerror or type(e).__name__})") from None
    return decode_policy(raw, str(path))


@cache
def default_policy() -> Policy:
    return decode_policy(_shipped_pack("3.0.toml"), "3.0")


@cache
def shipped() -> dict[str, str]:
    """Label -> content fingerprint of every pack shipped in domain/policies."""
    found = {}
    for entry in resources.files("domain").joinpath("policies").iterdir():
        if entry.name.endswith(".toml"):
            policy = msgspec.toml.decode(entry.read_bytes(), type=Policy)
            found[policy.label] = policy_fingerprint(policy)
    return found


def _shipped_pack(name: str) -> bytes:
    return resources.files("domain").joinpath("policies", name).read_bytes()


def _entry_at_fault(text: str) -> str | None:
    """msgspec names a field inside a table entry as `$.rules[...]`, hiding which entry: find it by
    checking the entries of the keyed tables one by one, to name it as `rules.ACCOUNT-SHARED: ...`."""
    data = msgspec.toml.decode(text)
    tables: dict[str, type[msgspec.Struct]] = {"rules": RulePolicy, "detectors": DetectorPolicy}
    for table, kind in tables.items():
        entries = data.get(table)
        for key, entry in entries.items() if isinstance(entries, dict) else ():
            try:
                msgspec.convert(entry, kind)
            except msgspec.ValidationError as e:
                return f"{table}.{key}: {e}"
    return None


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
