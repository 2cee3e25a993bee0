"""Numbers an old log kept as written: still folded, and shown to the audit as an anomaly."""

from __future__ import annotations

from domain.phone import REGION, PhoneNumberError, normalise
from projections.consequences import anomaly
from projections.state import State
from schemas.facts import CallReceived, ViolationReported


def kept_as_written(state: State, fact: CallReceived | ViolationReported) -> None:
    """A v1 record whose number is not a valid phone number stays v1 with the number as written
    (schemas.facts._number_in_e164): the rules still use it, compared as written, and the anomaly
    says why it may not match the same caller's other spellings. Never raises."""
    if fact.number is None:
        return
    try:
        normalise(fact.number, REGION)
        why = "not in E.164"
    except PhoneNumberError as err:
        why = str(err)
    anomaly(state, fact.id, fact.at, f"number {fact.number!r} kept as written in an old record: {why}")
