"""Seed 004 priority tiers: what a company's installed base under warranty qualifies it for.

A company's installed base is the devices (`device.installed`) of the customers it is the partner of
record for (`customer.assigned`, the latest one per customer). A unit counts at t when it is folded
(installed by the state's as-of time) and under warranty at t (t < `warranty_end`); out-of-warranty
units do not count, and a maintenance agreement is not a warranty (RULES.md). Thresholds (seed 004):
Priority Access from 250 units; Priority Access Plus and Priority Management from 1,000.

Counting 5M devices per question would be slow, so the warranty ends are indexed per customer,
sorted (`State.warranty_index`): a count is one bisection per customer of the company. The index is
derived from `State.devices`, never checkpointed: built on the first question, then kept by the fold.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from projections.state import State
    from schemas import facts as f

#: (minimum units under warranty, service) from seed 004, lowest first.
THRESHOLDS: tuple[tuple[int, str], ...] = (
    (250, "priority-access"),
    (1000, "priority-access-plus"),
    (1000, "priority-management"),
)


class Tier(msgspec.Struct, kw_only=True):
    company_id: str
    at: datetime  # the instant counted
    units_in_warranty: int
    eligible: list[str]  # the seed 004 services the base qualifies for (empty: none)


def customer_assigned(state: State, fact: f.CustomerAssigned) -> None:
    state.service.customers[fact.customer_id] = fact.company_id


def indexing(rule: Callable[[State, f.DeviceInstalled], None]) -> Callable[[State, f.DeviceInstalled], None]:
    """The installation handler `rule`, then the warranty index (when built) kept in step with it."""

    def device_installed(state: State, fact: f.DeviceInstalled) -> None:
        old = state.devices.get(fact.barcode)
        rule(state, fact)
        index = state.warranty_index
        if index is not None:
            if old is not None:
                ends = index.get(old.customer_id, [])
                i = bisect_left(ends, old.warranty_end)
                if i < len(ends) and ends[i] == old.warranty_end:
                    del ends[i]
            new = state.devices[fact.barcode]
            insort(index.setdefault(new.customer_id, []), new.warranty_end)
        book = state.service
        if book.active_through is None or fact.at > book.active_through:
            book.active_through = fact.at

    return device_installed


def warranty_index(state: State) -> dict[str, list[datetime]]:
    if state.warranty_index is None:
        index: defaultdict[str, list[datetime]] = defaultdict(list)
        for device in state.devices.values():
            index[device.customer_id].append(device.warranty_end)
        for ends in index.values():
            ends.sort()
        state.warranty_index = dict(index)
    return state.warranty_index


def eligible(units: int) -> list[str]:
    return [service for minimum, service in THRESHOLDS if units >= minimum]


def units_in_warranty(state: State, customers: list[str], t: datetime) -> int:
    index = warranty_index(state)
    return sum(len(ends) - bisect_right(ends, t) for c in customers if (ends := index.get(c)))


def priority_tier(state: State, company_id: str, t: datetime) -> Tier:
    """The company's units under warranty at t and what they qualify it for. t: the state's as-of time
    (a unit installed after t but folded is counted: fold to t to ask about an earlier time)."""
    customers = [c for c, company in state.service.customers.items() if company == company_id]
    units = units_in_warranty(state, customers, t)
    return Tier(company_id=company_id, at=t, units_in_warranty=units, eligible=eligible(units))


def priority_tiers(state: State, t: datetime | None) -> list[Tier]:
    """Every company with a customer of record, at t (None: the latest activity folded)."""
    latest = t if t is not None else state.service.active_through
    if latest is None:
        return []
    at = latest.astimezone(UTC)
    by_company: defaultdict[str, list[str]] = defaultdict(list)
    for customer, company in state.service.customers.items():
        by_company[company].append(customer)
    out = []
    for company in sorted(by_company):
        units = units_in_warranty(state, by_company[company], at)
        out.append(Tier(company_id=company, at=at, units_in_warranty=units, eligible=eligible(units)))
    return out
