"""What `/ready` and `/status` report of a replica: caught up or not, lag per partition, refolds, and
whether a Kafka broker answers at all.

The feeder alone cannot tell a stopped broker: kafka-python's consumer polls empty and keeps its
last end offsets, so the replica kept "ready" while nothing could reach it. `BrokerCheck` is a TCP
connect to the bootstrap servers, cached (at most one every `every` seconds) and run off the event
loop, so /ready answers in microseconds whatever the network does. It notices a broker that is down
or unreachable, not one that refuses our credentials (the feeder's own error covers that).
"""

from __future__ import annotations

import resource
import socket
import threading
import time
import weakref

from consumers.api.models import LastRefold, Readiness
from consumers.replica import Replica

_CHECKS: weakref.WeakKeyDictionary[Replica, BrokerCheck] = weakref.WeakKeyDictionary()


class BrokerCheck:
    """Whether any bootstrap server accepts a TCP connection, as of at most `every` seconds ago."""

    def __init__(self, servers: str, every: float = 2.0, timeout: float = 1.0) -> None:
        self.servers = servers
        self.addresses = [_address(s) for s in servers.split(",") if s.strip()]
        self.every = every
        self.timeout = timeout
        self._lock = threading.Lock()
        self._checking = False
        self._checked_at = time.monotonic()
        self._up = self._connect()  # the first answer is a real one, not a guess

    def reachable(self) -> bool:
        """The last result; starts a new check in a thread when it is older than `every`."""
        with self._lock:
            due = not self._checking and time.monotonic() - self._checked_at >= self.every
            if due:
                self._checking = True
        if due:
            threading.Thread(target=self._refresh, name="broker-check", daemon=True).start()
        return self._up

    def _refresh(self) -> None:
        up = self._connect()
        with self._lock:
            self._up, self._checked_at, self._checking = up, time.monotonic(), False

    def _connect(self) -> bool:
        for host, port in self.addresses:
            try:
                with socket.create_connection((host, port), timeout=self.timeout):
                    return True
            except OSError:
                continue
        return False


def _address(server: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port`, or a bare host (Kafka's default port, 9092)."""
    server = server.strip()
    host, sep, port = server.rpartition(":")
    if not sep or not port.isdigit() or host.count(":") and not host.startswith("["):
        return server.strip("[]"), 9092
    return host.strip("[]") or "localhost", int(port)


def watch_broker(replica: Replica, check: BrokerCheck) -> None:
    """From now on the replica is ready only while `check` finds a broker (hotline serve)."""
    _CHECKS[replica] = check


def broker_check(replica: Replica) -> BrokerCheck | None:
    return _CHECKS.get(replica)


def replica_status(replica: Replica) -> Readiness:
    refold = replica.projector.last_refold
    ready, error = replica.ready, replica.error
    check = _CHECKS.get(replica)
    if check is not None and not check.reachable():
        ready = False
        error = error or f"no Kafka broker answers at {check.servers}"
    return Readiness(
        ready=ready,
        facts=replica.applied,
        records=replica.records,
        error=error,
        lag={str(p): n for p, n in sorted(replica.lag.items())},
        refolding=replica.refolding,
        refolds=replica.projector.refolds,
        annulments_voided=replica.projector.voided,
        late_applied=replica.projector.late.applied,
        warm_checkpoints=len(replica.projector.warm),
        peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        last_refold=None
        if refold is None
        else LastRefold(
            facts=refold.facts,
            seconds=round(refold.seconds, 3),
            since=None if refold.since is None else refold.since[0].isoformat(),
        ),
    )
