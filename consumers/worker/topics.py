"""The faust topics of a worker: the derived and projection topics it writes (it reads the facts with
kafka-python, live_facts.py).

Values travel as raw bytes (msgspec JSON encoded and decoded here, in batches), not faust Records.
The topics are created by consumers.kafka_log.ensure_topics, never by faust: faust would create them
with its own settings (and silently ignores a source topic that is missing when it starts).
"""

from __future__ import annotations

import faust

from consumers.kafka_log import topic_name
from schemas.topics import DERIVED, PROJECTIONS

# What a worker writes: every derived topic except admission decisions (the query API records those).
WRITTEN = tuple(kind for kind in DERIVED if kind != "admission-decisions")


def _raw(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


def output_topics(app: faust.App, namespace: str) -> dict[str, faust.TopicT]:
    """kind -> topic, for the derived kinds ("penalties", ...) and the projections ("blacklist", ...)."""
    out = {kind: _raw(app, topic_name(DERIVED[kind], namespace)) for kind in WRITTEN}
    out.update({kind: _raw(app, topic_name(topic, namespace)) for kind, topic in PROJECTIONS.items()})
    return out
