"""Policy versions in force one after another (RULES.md: policy versions are effective-dated).

Each fact is judged under the version in force at its event time: a version applies from its
`effective_from` (inclusive) until the next one's. The earliest version also covers every fact before
its own date, since there is nothing older to judge them by; a pack with no `effective_from` is in force
from the start of time, and only one version of a history may be. A later version never rewrites what
an earlier one decided: consequences are computed when their violation is confirmed, and a deadline
that passes later applies the terms of its violation's version (`of_version`).

A draft version added with `including` gives the what-if history: the record is unchanged, the fold
over the facts under that history shows what the draft would have decided.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import msgspec

from domain.policy import Policy, PolicyError, default_policy, load_policy


class PolicyHistory:
    """Versions ordered by effective time; immutable once made."""

    __slots__ = ("versions", "starts", "single", "_by_version", "fingerprint")

    def __init__(self, versions: Iterable[Policy]) -> None:
        versions = list(versions)
        if not versions:
            raise PolicyError("a policy history needs at least one version")
        timeless = [p.version for p in versions if p.effective_from is None]
        if len(timeless) > 1:
            raise PolicyError(f"versions {', '.join(timeless)} have no effective_from: only one may")
        ordered = sorted(versions, key=_effective_key)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.effective_from == after.effective_from:
                raise PolicyError(
                    f"versions {before.version} and {after.version} take effect at the same time"
                    f" ({after.effective_from})"
                )
        self.versions: tuple[Policy, ...] = tuple(ordered)
        # versions[i + 1] is in force from starts[i]; the first from the start of time
        self.starts: tuple[datetime, ...] = tuple(p.effective_from for p in ordered[1:])  # type: ignore[misc]
        self.single = len(ordered) == 1
        self._by_version = {p.version: p for p in ordered}
        if len(self._by_version) != len(ordered):
            raise PolicyError("the same policy version appears twice in the history")
        # One version: its own fingerprint, so a one-pack history and the pack key checkpoints alike.
        self.fingerprint = (
            ordered[0].fingerprint
            if self.single
            else hashlib.sha256(",".join(p.fingerprint for p in ordered).encode()).hexdigest()
        )

    @property
    def earliest(self) -> Policy:
        return self.versions[0]

    @property
    def latest(self) -> Policy:
        return self.versions[-1]

    def at(self, t: datetime) -> Policy:
        """The version in force at instant t."""
        if self.single:
            return self.versions[0]
        return self.versions[bisect_right(self.starts, t)]

    def index_at(self, t: datetime) -> int:
        """Position in `versions` of the version in force at t; in force until starts[index]."""
        return bisect_right(self.starts, t)

    def of_version(self, version: str) -> Policy:
        """The version recorded on a derived event (its terms apply to all it causes, however late)."""
        return self._by_version[version]

    def including(self, draft: Policy, effective_from: datetime | None = None) -> PolicyHistory:
        """This history with a draft version in force from `effective_from` (default: the draft's own);
        a version taking effect at that same time is replaced by the draft. For what-if folds."""
        if effective_from is not None:
            draft = msgspec.structs.replace(draft, effective_from=effective_from)
        kept = [
            p
            for p in self.versions
            if p.effective_from != draft.effective_from and p.version != draft.version
        ]
        return PolicyHistory([*kept, draft])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PolicyHistory) and other.fingerprint == self.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __len__(self) -> int:
        return len(self.versions)

    def __repr__(self) -> str:
        return f"PolicyHistory({', '.join(p.version for p in self.versions)})"


def as_history(policy: Policy | PolicyHistory) -> PolicyHistory:
    """A single pack is the history of one version, in force at every time (as before histories)."""
    return policy if isinstance(policy, PolicyHistory) else PolicyHistory([policy])


def load_policies(paths: Sequence[Path]) -> PolicyHistory:
    """The history of the packs at `paths`: files, or directories whose *.toml files are each a version.
    No path: the default pack (3.0) alone. Each bad pack fails with one PolicyError line."""
    if not paths:
        return PolicyHistory([default_policy()])
    packs: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.toml"))
            if not found:
                raise PolicyError(f"policy {path}: a directory with no .toml pack in it")
            packs.extend(found)
        else:
            packs.append(path)
    return PolicyHistory(load_policy(path) for path in packs)


def _effective_key(policy: Policy) -> tuple[bool, datetime]:
    """The timeless version first; the rest by effective time (one timeless at most: never compared)."""
    return (policy.effective_from is not None, policy.effective_from or datetime.min)
