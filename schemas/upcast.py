"""Schema versions and upcasters: an old fact is rewritten to the current shape before it is decoded.

To change a fact type: bump its version in CURRENT_VERSION and register an upcaster from the old
version. Facts already on the log keep their old version and are upcast when read at the edge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.facts import FACT_TYPES, TAG_OF, Fact

Raw = dict[str, Any]

CURRENT_VERSION: dict[type[Fact], int] = {t: 1 for t in FACT_TYPES}
_CURRENT_BY_TAG = {TAG_OF[t]: v for t, v in CURRENT_VERSION.items()}
UPCASTERS: dict[tuple[str, int], Callable[[Raw], Raw]] = {}


class VersionError(ValueError):
    pass


def upcaster(tag: str, from_version: int) -> Callable[[Callable[[Raw], Raw]], Callable[[Raw], Raw]]:
    def register(fn: Callable[[Raw], Raw]) -> Callable[[Raw], Raw]:
        UPCASTERS[(tag, from_version)] = fn
        return fn

    return register


def upcast(raw: Raw) -> Raw:
    tag, version = raw.get("type"), raw.get("v", 1)
    current = _CURRENT_BY_TAG.get(tag)  # type: ignore[arg-type]
    if current is None:
        raise VersionError(f"unknown fact type {tag!r}")
    if not isinstance(version, int) or version > current or version < 1:
        raise VersionError(f"{tag} has no schema version {version!r} (current is {current}) - at `$.v`")
    while version < current:
        step = UPCASTERS.get((tag, version))  # type: ignore[arg-type]
        if step is None:
            raise VersionError(f"no upcaster for {tag} v{version}")
        raw = {**step(raw), "v": version + 1}
        version += 1
    return raw
