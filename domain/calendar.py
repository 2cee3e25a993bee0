"""Calendar arithmetic of the rules: months clamp to month end; "within one year" is strict."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, tzinfo


def add_months(t: datetime, months: int, tz: tzinfo) -> datetime:
    """`t` plus calendar months on the line's local calendar, clamped to month end (31 Jan + 1: 28/29 Feb)."""
    local = t.astimezone(tz)
    year, month0 = divmod(local.month - 1 + months, 12)
    year += local.year
    day = min(local.day, calendar.monthrange(year, month0 + 1)[1])
    return local.replace(year=year, month=month0 + 1, day=day).astimezone(UTC)


def within_one_year(earlier: datetime, later: datetime, tz: tzinfo) -> bool:
    """True when `later` is less than one calendar year after `earlier` (1 Mar -> 28 Feb yes, -> 1 Mar no)."""
    return later < add_months(earlier, 12, tz)
