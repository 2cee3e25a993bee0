"""Raising a suspicion: what a detector found, recorded and opened as a pending violation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.consequences import confirm
from projections.state import Pending, State
from schemas.derived import Suspicion
from schemas.types import RuleId


def suspect(
    state: State,
    sid: str,
    detector: str,
    rule: RuleId,
    account_id: str,
    number: str | None,
    at: datetime,
    detail: str,
    causes: tuple[str, ...],
    **refs: Any,
) -> None:
    state.effects += 1
    state.suspicions[sid] = Suspicion(
        id=sid,
        at=at,
        policy_version=state.policy.version,
        causes=causes,
        rule=rule,
        account_id=account_id,
        number=number,
        detector=detector,
        detail=detail,
    )
    pending = Pending(
        id=sid,
        rule=rule,
        account_id=account_id,
        number=number,
        raised_at=at,
        occurred_at=at,
        origin=detector,
        causes=causes,
        **refs,
    )
    state.pending[sid] = pending
    if state.policy.detectors[detector].auto_confirm:
        confirm(state, pending, at, by=sid)
