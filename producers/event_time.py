"""Event-time bounds at the edge (RULES.md: "Facts from the far future are refused").

A fact's `at` (and the other times that say when something happened: `ended_at`, `applied_on`,
`occurred_at`) must lie between the epoch and the moment the line is received plus a skew. The ends
a fact announces (`valid_until`, `warranty_end`) may lie in the future, but not more than a century
after its `at`: later than that is a typo, and the fold's calendar arithmetic would overflow near
year 9999. Nothing that passes these bounds can make the fold's dates overflow.

Configuration, read here and nowhere else:

- ``HOTLINE_MAX_SKEW``: how far after its reception a fact may be dated; seconds (``86400``) or an
  ISO 8601 duration in days, hours, minutes, seconds (``P1D``, ``PT36H``, ``PT90M``). Default one day.
- ``HOTLINE_EPOCH``: the earliest event time accepted; a date (``2000-01-01``, midnight UTC) or a
  date-time with an offset. Default 2000-01-01T00:00:00Z, before any partner or device of the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_MAX_SKEW = timedelta(days=1)
#: How far after its `at` a fact may announce an end (a certificate's or a warranty's).
LONGEST_END = timedelta(days=36525)  # a century
#: Fields that announce an end rather than say when something happened.
END_FIELDS = frozenset({"valid_until", "warranty_end"})

_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


class BoundsError(ValueError):
    """A bound configured in the environment cannot be read; the message names the variable."""


@dataclass(frozen=True)
class EventTimeBounds:
    epoch: datetime = DEFAULT_EPOCH
    max_skew: timedelta = DEFAULT_MAX_SKEW

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EventTimeBounds:
        env = os.environ if env is None else env
        skew, epoch = env.get("HOTLINE_MAX_SKEW", "").strip(), env.get("HOTLINE_EPOCH", "").strip()
        return cls(
            epoch=_epoch(epoch) if epoch else DEFAULT_EPOCH,
            max_skew=_skew(skew) if skew else DEFAULT_MAX_SKEW,
        )

    def latest(self, received: datetime) -> datetime:
        """The latest event time accepted for a fact received at `received`."""
        try:
            return received + self.max_skew
        except OverflowError:
            return datetime.max.replace(tzinfo=UTC)

    def problems(self, times: Mapping[str, datetime], received: datetime) -> list[tuple[str, str]]:
        """(field, reason) for each time of one fact that is out of bounds; `times` holds `at`."""
        out = []
        at, latest = times["at"], self.latest(received)
        for name, t in times.items():
            if t < self.epoch:
                out.append((name, f"before the epoch {_iso(self.epoch)} (HOTLINE_EPOCH): not a real date"))
            elif name in END_FIELDS:
                if t - at > LONGEST_END:
                    out.append((name, "more than a century after `at`: not a plausible end"))
            elif t > latest:
                out.append(
                    (
                        name,
                        f"in the future: more than {_human(self.max_skew)} after the fact was received "
                        f"({_iso(received)}; HOTLINE_MAX_SKEW)",
                    )
                )
        return out


def _skew(text: str) -> timedelta:
    m = _DURATION.match(text.upper())
    if not text.isdigit() and (m is None or not any(m.groups())):
        raise BoundsError(
            f"HOTLINE_MAX_SKEW={text!r}: use seconds (86400) or an ISO 8601 duration (P1D, PT36H)"
        )
    try:
        if text.isdigit():
            return timedelta(seconds=int(text))
        assert m is not None
        days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        raise BoundsError(f"HOTLINE_MAX_SKEW={text!r}: too long") from None


def _epoch(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        t = None
    if t is None:
        raise BoundsError(f"HOTLINE_EPOCH={text!r}: use a date (2000-01-01) or a date-time with an offset")
    try:
        return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise BoundsError(f"HOTLINE_EPOCH={text!r}: out of range") from None


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _human(d: timedelta) -> str:
    if d.seconds == 0 and d.microseconds == 0:
        return f"{d.days} day" + ("" if d.days == 1 else "s")
    return f"{int(d.total_seconds())} s"
