"""Open what the operator names (a log, a policy pack, a time), or say in one line why not."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import datetime, tzinfo
from pathlib import Path

import msgspec

from consumers.embedded import Hotline
from domain.policy import PolicyError
from domain.policy_history import PolicyHistory, load_policies
from domain.timeparse import parse_time
from hotline.errors import OperatorError
from hotline.sealing import open_keys
from storage.log import EmbeddedLog


def open_log(log: Path, policy: Sequence[Path] | None, create: bool = False, seal: bool = False) -> Hotline:
    """The log and the policy, with a sealed log's key store (hotline.sealing; `seal`: seal a new log).
    Only a command that writes facts (`create`) makes a new log: a misspelt `--log` must not read as
    an empty log, i.e. as "nothing blacklisted"."""
    history = load(policy)  # first: a bad pack is the operator's to fix whatever the log
    if log.is_dir():
        raise OperatorError(f"--log {log}: is a directory, not a log file")
    if log.exists() and not log.is_file():
        raise OperatorError(f"--log {log}: not a regular file (a device or a pipe), not a log")
    if not create and not log.exists():
        raise OperatorError(
            f"--log {log}: no such log (only `hotline ingest` creates one; check the path or HOTLINE_LOG)"
        )
    if not create and not _holds_facts(log):
        raise OperatorError(f"--log {log}: not a hotline log (a SQLite file without its facts table)")
    hotline = Hotline(EmbeddedLog(log), history)
    open_keys(hotline, seal)
    return hotline


def _holds_facts(log: Path) -> bool:
    """Whether the file is a log at all, asked read-only before anything opens it for writing: an
    empty or foreign SQLite file must not read as a log with nothing on it ("nothing blacklisted").
    A file that is not SQLite is left to the open, which names it as damaged."""
    try:
        with closing(sqlite3.connect(f"{log.resolve().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'facts'").fetchone()
    except sqlite3.DatabaseError:
        return True
    return row is not None


def load(paths: Sequence[Path] | None) -> PolicyHistory:
    """The policy history (one version per pack), zones resolved, so that a bad pack fails here in one
    line rather than in the middle of a fold."""
    try:
        history = load_policies(paths or ())
        for version in history.versions:
            version.tz  # noqa: B018 (resolves the zone now)
    except PolicyError:
        raise
    except (OSError, ValueError, KeyError, msgspec.DecodeError) as e:  # KeyError: an unknown zone
        named = ", ".join(str(p) for p in paths or ())
        raise OperatorError(f"--policy {named}: cannot be used ({type(e).__name__}: {e})") from None
    return history


def when(text: str | None, tz: tzinfo, option: str) -> datetime | None:
    """A time the operator typed (None for none); dates outside years 1 to 9999 in UTC are refused."""
    if text is None:
        return None
    try:
        return parse_time(text, tz, option)
    except OverflowError:
        raise OperatorError(
            f"{option}: {text!r} is out of range: use a time between years 1 and 9999 in UTC"
        ) from None
