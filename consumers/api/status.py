"""What `/ready` and `/status` report of a replica: caught up or not, lag per partition, refolds."""

from __future__ import annotations

import resource

from consumers.api.models import LastRefold, Readiness
from consumers.replica import Replica


def replica_status(replica: Replica) -> Readiness:
    refold = replica.projector.last_refold
    return Readiness(
        ready=replica.ready,
        facts=replica.applied,
        records=replica.records,
        error=replica.error,
        lag={str(p): n for p, n in sorted(replica.lag.items())},
        refolding=replica.refolding,
        refolds=replica.projector.refolds,
        peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        last_refold=None
        if refold is None
        else LastRefold(
            facts=refold.facts,
            seconds=round(refold.seconds, 3),
            since=None if refold.since is None else refold.since[0].isoformat(),
        ),
    )
