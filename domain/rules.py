"""What a confirmed violation causes, decided from the policy. The projections apply these decisions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.calendar import add_months, within_one_year
from domain.policy import Policy, RulePolicy
from schemas.types import RuleId

SWAP_RULES: tuple[RuleId, ...] = ("BARCODE-SWAP-IN-WARRANTY", "BARCODE-SWAP-OUT-OF-WARRANTY")
BLACK_KEY_COUNTER = "BLACK-KEY-EVENT"


def engineer_penalised_at_confirmation(rule: RulePolicy, serious: bool, warned_before: bool) -> bool:
    """Whether confirmation itself blacklists the engineer (mismatch waits for the codes deadline)."""
    when = rule.engineer_when
    return (
        when == "confirmed" or (when == "serious" and serious) or (when == "after_warning" and warned_before)
    )


def engineer_penalty_end(rule: RulePolicy, start: datetime, policy: Policy) -> datetime | None:
    """End of the engineer's blacklist period; None means permanent."""
    if rule.engineer_months is None:
        return None
    return add_months(start, rule.engineer_months, policy.tz)


def swap_rule(device_warranty_end: datetime | None, occurred_at: datetime) -> RuleId:
    """The installed base decides which swap rule applies: device B under warranty when the call was made."""
    if device_warranty_end is not None and occurred_at < device_warranty_end:
        return "BARCODE-SWAP-IN-WARRANTY"
    return "BARCODE-SWAP-OUT-OF-WARRANTY"


def repeat_partner(previous: Sequence[tuple[datetime, str]], t: datetime, policy: Policy) -> str | None:
    """Company counting is monotonic: an occurrence with another of the same counter less than one year
    before it starts a company penalty. Returns the id of the latest such earlier occurrence, if any."""
    for at, violation_id in reversed(previous):
        if at <= t:
            return violation_id if within_one_year(at, t, policy.tz) else None
    return None


def company_penalty_end(months: int | None, start: datetime, policy: Policy) -> datetime | None:
    return None if months is None else add_months(start, months, policy.tz)
