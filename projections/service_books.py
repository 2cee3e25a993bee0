"""The records the seed 002 and 004 projections keep in the fold: responses and waits on the partner
(SLA clocks), calls per quarter and the customers of record. Plain msgspec records, so a checkpoint
writes and reads them as they are.

Only records here (no rules), so that `projections.state` can hold them without importing the modules
that apply facts to them (projections.sla, .quarterly, .tiers).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

RESPONSE = "response"
RESOLUTION = "resolution"


class Wait(msgspec.Struct, gc=False, array_like=True):
    """The case waited on the partner over [start, end); `end` None: it still does."""

    start: datetime
    start_by: str  # the case.awaiting_partner fact id
    end: datetime | None = None
    end_by: str | None = None  # the case.partner_replied fact id


class ServiceBook(msgspec.Struct):
    opened_by: dict[str, str] = {}  # case id -> the case.opened fact id (the cause of its breaches)
    responses: dict[str, tuple[datetime, str]] = {}  # case id -> first response: time, fact id
    waits: dict[str, list[Wait]] = {}  # case id -> its waits on the partner, in event order
    calls: dict[str, dict[str, int]] = {}  # quarter -> company -> calls
    customers: dict[str, str] = {}  # customer -> company of record
    active_through: datetime | None = None  # the latest case opening or installation folded
