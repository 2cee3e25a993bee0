"""An AsyncAPI 3.0 document of the topics (schemas/topics.py), pointing at the exported JSON Schemas."""

from __future__ import annotations

from typing import Any

from schemas.topics import ALL, DERIVED, FACTS, PARTITIONS, PROJECTIONS, REJECTS, Topic


def _payload(topic: Topic) -> dict[str, Any]:
    if topic is FACTS:
        return {"$ref": "facts.schema.json"}
    if topic in DERIVED.values():
        return {"$ref": "derived.schema.json"}
    if topic is REJECTS:
        return {
            "type": "object",
            "required": ["file", "line", "reason", "raw"],
            "properties": {
                "file": {"type": "string"},
                "line": {"type": "integer"},
                "field": {"type": ["string", "null"]},
                "reason": {"type": "string"},
                "raw": {"type": "string"},
            },
        }
    return {"type": "object", "description": topic.schema}


def document(namespace: str = "hotline") -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in ALL:
        cid = topic.in_namespace(namespace).replace(".", "-")
        channels[cid] = {
            "address": topic.in_namespace(namespace),
            "description": f"Written by {topic.writers}; read by {topic.readers}.",
            "messages": {
                "record": {
                    "payload": _payload(topic),
                    "contentType": "application/json",
                    "bindings": {"kafka": {"key": {"type": "string", "description": topic.key}}},
                }
            },
            "bindings": {
                "kafka": {
                    "partitions": PARTITIONS,
                    "topicConfiguration": {
                        "cleanup.policy": [topic.cleanup],
                        "retention.ms": int(topic.retention_ms),
                    },
                }
            },
        }
        action = "receive" if topic is FACTS else "send"
        operations[f"{action}-{cid}"] = {"action": action, "channel": {"$ref": f"#/channels/{cid}"}}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "hotline-governance topics",
            "version": "1.0.0",
            "description": "Facts in, derived events and compacted projections out. Every value is JSON. "
            "Operations are from the point of view of the hotline workers.",
        },
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka"}},
        "channels": channels,
        "operations": operations,
        "x-projections": sorted(t.in_namespace(namespace) for t in PROJECTIONS.values()),
    }
