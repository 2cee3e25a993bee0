"""`serve --log` records each decision on the log its replica reads back. Decisions timed before their
turn to be recorded could land out of the order of their times, and a refusal fact landing late makes
the replica refold (p99 790 ms in bench/http_admission.py --log). The API therefore times and records
one decision at a time for such a recorder: what lands is in the order of its times."""

from __future__ import annotations

import asyncio
import random

from consumers.api.app import Api
from consumers.replica import Replica
from projections.projector import Projector
from schemas.derived import AdmissionDecision
from tests.unit.builders import POLICY, request, world


class SlowLog:
    """Records with a random delay, as a write lock contended by threads would."""

    in_event_order = True

    def __init__(self) -> None:
        self.landed: list[AdmissionDecision] = []

    async def __call__(self, decision: AdmissionDecision) -> None:
        await asyncio.sleep(random.random() / 200)
        self.landed.append(decision)


def test_decisions_land_in_the_order_of_their_times() -> None:
    projector = Projector(POLICY)
    projector.add(world(("a1",)))
    log = SlowLog()
    api = Api(Replica.from_projector(projector), log)

    async def ask_many() -> None:
        await asyncio.gather(*(api.decide(request(model="M-WRONG")) for _ in range(40)))

    asyncio.run(ask_many())
    times = [d.at for d in log.landed]
    assert len(times) == 40 and times == sorted(times)
    assert all("barcode-mismatch" in [r.code for r in d.reasons] for d in log.landed)
