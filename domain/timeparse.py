"""Times typed by people: ISO 8601; a date, or a time without an offset, is on the line's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo


class TimeError(ValueError):
    pass


def parse_time(text: str, tz: tzinfo, option: str) -> datetime:
    try:
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), time(), tz)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TimeError(
            f"{option}: {text!r} is not a date or time; use e.g. 2025-03-01 or 2025-03-01T09:30:00+08:00"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)
