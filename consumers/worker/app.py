"""The faust App of one worker: its tables (own consumer group, own RocksDB directory), its producer
and its process; no web server. It does not read the facts (live_facts.py does)."""

from __future__ import annotations

import faust

from consumers.kafka_security import faust_settings
from schemas.topics import PARTITIONS, REPLICATION_FACTOR

from .config import WorkerConfig


def make_app(config: WorkerConfig) -> faust.App:
    config.dir.mkdir(parents=True, exist_ok=True)
    servers = ",".join(s.strip() for s in config.servers.split(",") if s.strip())
    return faust.App(
        # One group per worker, subscribed to its own tables' changelogs only: assigned all of them.
        config.app_id,
        broker=f"kafka://{servers}",
        store="rocksdb://",  # rocksdict: faust picks it when python-rocksdb is absent
        datadir=str(config.dir / "faust"),
        # $HOTLINE_PARTITIONS and $HOTLINE_REPLICATION_FACTOR, as for every topic (consumers.kafka_log
        # .ensure_topics creates the changelogs before faust starts; faust uses these for the rest).
        topic_partitions=PARTITIONS,
        topic_replication_factor=REPLICATION_FACTOR,
        table_standby_replicas=0,  # nobody else shares this group: a standby would never be used
        web_enabled=False,  # several workers per machine; the query API is a separate process
        autodiscover=False,
        consumer_auto_offset_reset="earliest",
        # Static membership: a worker restarted after kill -9 takes its old place at once instead of
        # waiting for the dead member's session to time out.
        consumer_group_instance_id=config.app_id,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        broker_commit_interval=1.0,
        stream_recovery_delay=0.0,  # faust waits 3 s by default before restoring tables
        producer_acks=-1,
        producer_linger_ms=1,
        producer_compression_type="lz4",  # cramjam: aiokafka's only lz4 codec (see kafka_findings)
        processing_guarantee=config.guarantee,
        **faust_settings(),  # SASL/TLS from $HOTLINE_KAFKA_SECURITY_PROTOCOL etc. (none by default)
    )
