"""Ordinary traffic of the synthetic line: admissible calls, their cases, and how the line serves
them (first replies, waits on the partner, closings: the seed 002 service levels, docs/sla.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.policy import default_policy
from producers.synthetic_data import (
    LATE,
    LEVEL_WEIGHTS,
    LEVELS,
    REPLY_NOTES,
    SLOW_COMPLAINT,
    UNANSWERED,
    WAIT_FIRST,
    WAIT_NOTES,
    WAITING,
    Device,
    Engineer,
)
from producers.synthetic_reference import Reference
from schemas import facts as f

#: The response targets the line works to: the default policy's, by fault level.
RESPONSE = default_policy().response_times


class Traffic(Reference):
    # --- ordinary traffic ----------------------------------------------------------------------------
    def admissible(self, eng: Engineer, dev: Device, t: datetime) -> bool:
        co = eng.company
        return (
            eng.cert_end.get(dev.line, t) > t
            and co.rating_end.get(dev.line, t) > t
            and not any(a <= t < b for a, b in co.blocked)
        )

    def call(self, eng: Engineer, dev: Device, t: datetime, problem: str | None = None, **kw: Any) -> Any:
        fields = {
            "account_id": eng.account,
            "number": eng.number,
            "barcode": dev.barcode,
            "stated_model": dev.model,
            "stated_site": dev.site,
            "problem": problem or self.rng.choice(dev.problems),
            "ended_at": t + timedelta(seconds=self.rng.randrange(180, 2400)),
        }
        return self.emit(f.CallReceived, t, **(fields | kw))

    def open_case(self, call: f.CallReceived, close: bool = True) -> str:
        case_id, opened = self.uid("case"), self.after(call.at, 0.02, 0.2)
        level = self.rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
        self.emit(
            f.CaseOpened,
            opened,
            case_id=case_id,
            call_id=call.id,
            account_id=call.account_id,
            barcode=call.barcode,
            fault_level=level,
            problem=call.problem,
        )
        closed = self.after(opened, 0.5, 240) if close else None
        if closed is not None and level == "complaint" and self.svc.random() < SLOW_COMPLAINT:
            closed = opened + timedelta(seconds=self.svc.randrange(8 * 86400, 22 * 86400))
        if closed is not None and closed >= self.end:
            closed = None  # still open at the end of the period
        self.serve(case_id, level, opened, closed)
        if closed is not None:
            self.emit(f.CaseClosed, closed, case_id=case_id)
        return case_id

    # --- service levels (seed 002) --------------------------------------------------------------------
    def serve(self, case_id: str, level: str, opened: datetime, closed: datetime | None) -> None:
        """How the line answers the case: the first reply mostly before the target of its fault level,
        some late, a few never (the closing answers, or the target is breached); one case in eight waits
        on the partner once, before the first reply (the pause moves the due time on) or after it."""
        svc, target = self.svc, RESPONSE[level]
        stop = closed or self.end  # nothing about the case comes after its closing

        def share(span: timedelta, lo: float, hi: float) -> timedelta:
            return timedelta(seconds=round(span.total_seconds() * svc.uniform(lo, hi)))

        waits = svc.random() < WAITING
        first = waits and svc.random() < WAIT_FIRST
        reply: datetime | None = None
        if first:
            start = opened + share(target, 0.1, 0.6)
            back = start + share(timedelta(hours=1), 0.5, 30)
            self.pause(case_id, start, back, closed)
            reply = back + share(opened + target - start, 0.1, 0.9)  # inside the due time moved on
        elif svc.random() >= UNANSWERED:
            late = svc.random() < LATE[level]
            reply = opened + (share(target, 1.0, 4.0) if late else share(target, 0.05, 0.95))
        if reply is not None and reply < stop:
            self.emit(f.CaseResponded, reply, case_id=case_id, note=svc.choice(REPLY_NOTES))
        if waits and not first:
            start = (reply or opened) + share(timedelta(hours=1), 1, 48)
            self.pause(case_id, start, start + share(timedelta(hours=1), 2, 72), closed)

    def pause(self, case_id: str, start: datetime, back: datetime, closed: datetime | None) -> None:
        """A wait on the partner, when it fits: before the closing, or still waiting at the end."""
        if start >= (closed or self.end) or (closed is not None and back >= closed):
            return
        self.emit(f.CaseAwaitingPartner, start, case_id=case_id, note=self.svc.choice(WAIT_NOTES))
        if back < self.end:
            self.emit(f.CasePartnerReplied, back, case_id=case_id, note="the partner sent what was asked")

    def interaction(self, eng: Engineer) -> None:
        rng = self.rng
        dev, t = rng.choice(eng.devices), self.when()
        ok = self.admissible(eng, dev, t)
        if not ok and rng.random() < 0.7:
            return  # engineers mostly know when the line will refuse them
        call = self.call(eng, dev, t)
        if not ok or rng.random() < 0.45:
            return
        case_id = self.open_case(call)
        if rng.random() < 0.25:
            self.call(eng, dev, self.after(t, 2, 72), call.problem, case_id=case_id)
        mate = rng.choice(eng.company.engineers)
        if rng.random() < 0.05 and mate is not eng and dev.line in mate.certs:
            self.emit(
                f.CaseTransferred,
                self.after(t, 1, 4),
                case_id=case_id,
                to_account_id=mate.account,
                note="handed to a certified colleague",
            )

    def traffic(self, per_month: float) -> None:
        months = (self.end - self.start).days / 30.44
        for eng in self.engineers:
            if eng.account not in self.actors:
                for _ in range(round(self.rng.uniform(0.5, 1.5) * per_month * months)):
                    self.interaction(eng)
