"""Handlers of the installed base: devices installed and maintenance agreements."""

from __future__ import annotations

import sys

from domain.model import Device
from projections.consequences import release
from projections.state import State
from schemas import facts as f


def device_installed(state: State, fact: f.DeviceInstalled) -> None:
    intern = sys.intern  # model, line, customer and site repeat across millions of devices
    state.devices[fact.barcode] = device = Device(
        intern(fact.product_model),
        intern(fact.product_line),
        intern(fact.customer_id),
        intern(fact.site_id),
        state.shared(fact.warranty_end),
    )
    state.detectors.device_installed(fact.barcode, device)
    if fact.barcode in state.held:  # confirmations of swaps that waited for this device B
        release(state, fact.barcode, fact.id, fact.at)


def maintenance_agreed(state: State, fact: f.MaintenanceAgreed) -> None:
    for penalty in state.awaiting_maintenance.pop((fact.company_id, fact.customer_id), ()):
        penalty.ended_at, penalty.ended_by = fact.at, fact.id
