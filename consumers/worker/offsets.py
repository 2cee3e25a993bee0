"""Where the agent starts: after the startup drain, the worker's group is moved to where the drain
ended, so the agent does not read every fact a second time through faust's per-event path.

Only an optimisation: the drain reads everything the store does not hold, and a fact read twice
changes nothing (the Projector dedupes by id). The move is refused while the group still has a
member (a worker killed with -9 stays a member until its session times out); the agent then starts
from faust's own committed offsets, which is correct, just slower.
"""

from __future__ import annotations

import logging

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError, NoError
from kafka.structs import OffsetAndMetadata

from consumers.kafka_security import client_settings

log = logging.getLogger(__name__)


def start_group_at(servers: str, group: str, topic: str, positions: dict[int, int]) -> bool:
    """Commit `positions` (partition -> next offset) for `group` where they are ahead of its commits."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=servers, **client_settings())
    except KafkaError as e:
        log.warning("could not move %s to the end of the drain: %s", group, e)
        return False
    try:
        committed = admin.list_group_offsets(group).get(group, {})
        ahead = {
            tp: OffsetAndMetadata(offset, "", -1)
            for partition, offset in positions.items()
            if (tp := TopicPartition(topic, partition)) not in committed or committed[tp].offset < offset
        }
        if not ahead:
            return True
        errors = admin.alter_group_offsets(group, ahead)
        ok = all(err is NoError for err in errors.values())
        if not ok:
            log.info("group %s keeps its own offsets (it still has a member): %s", group, errors)
        return ok
    except KafkaError as e:
        log.info("group %s keeps its own offsets: %s", group, e)
        return False
    finally:
        admin.close()
