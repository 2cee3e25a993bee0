"""Reference data as the rules read it: compact, immutable records (millions of them stay in memory).

They carry only what the rules ask; the full facts stay on the log.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class Account(msgspec.Struct, frozen=True, gc=False):
    account_id: str
    company_id: str
    person_id: str
    at: datetime  # when it was opened
    authorised: bool


class Device(msgspec.Struct, frozen=True, gc=False):
    """One device of the installed base, by barcode."""

    product_model: str
    product_line: str
    customer_id: str
    site_id: str
    warranty_end: datetime


class Certificate(msgspec.Struct, frozen=True, gc=False):
    certificate_id: str
    account_id: str
    product_line: str
    at: datetime  # valid from
    valid_until: datetime
