"""Calendar quarters on the line's calendar (the policy's time zone): "2025Q1" is January to March."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from domain.calendar import add_months


def quarter_span(t: datetime, tz: tzinfo) -> tuple[datetime, datetime, str]:
    """[start, end) in UTC and the label of t's quarter in zone tz."""
    local = t.astimezone(tz)
    first_month = (local.month - 1) // 3 * 3 + 1
    start = local.replace(month=first_month, day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC), add_months(start, 3, tz), f"{local.year}Q{(first_month + 2) // 3}"


def quarter_bounds(label: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a quarter named like "2025Q1"; ValueError naming the label otherwise."""
    year, sep, q = label.upper().partition("Q")
    if not (sep and year.isdigit() and len(year) == 4 and q in ("1", "2", "3", "4")):
        raise ValueError(f"quarter: {label!r} is not a quarter like 2025Q1")
    start = datetime(int(year), 3 * int(q) - 2, 1, tzinfo=tz)
    return start.astimezone(UTC), add_months(start, 3, tz)
