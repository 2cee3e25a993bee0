"""Operator mistakes as one line and a non-zero exit, never a stack trace.

Exit status: 0 done; 2 an operator mistake (a bad option, file, log, policy or environment, or no
broker), in one line naming what to fix; 3 `ingest` refused some lines (the others landed); 1 an
internal error, also in one line (set HOTLINE_DEBUG=1 for the stack trace).
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import click
import msgspec
import typer

from hotline.render import err_console, safe

P = ParamSpec("P")
T = TypeVar("T")

MISTAKE = 2
REFUSED_LINES = 3
INTERNAL = 1
#: How typer and click end a command on purpose: let through, never reworded.
_DELIBERATE = (typer.Exit, typer.Abort, click.exceptions.Exit, click.ClickException, click.Abort)


class OperatorError(Exception):
    """A mistake the operator can fix; the message says what and how, in one line."""


def fail(message: str, code: int = MISTAKE) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {safe(message)}")
    raise typer.Exit(code)


def guarded(command: Callable[P, T]) -> Callable[P, T]:
    """Run a command; what goes wrong becomes one line on stderr and a non-zero exit."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except _DELIBERATE:
            raise
        except Exception as e:
            if os.environ.get("HOTLINE_DEBUG"):
                raise
            message, code = describe(e, kwargs.get("log"))
            fail(message, code)

    return run


def describe(e: Exception, log: object = None) -> tuple[str, int]:
    """One line for a failure, and the exit status."""
    from domain.policy import PolicyError
    from domain.timeparse import TimeError
    from producers.event_time import BoundsError
    from storage.keystore import KeyStoreError

    if isinstance(e, OperatorError | TimeError | PolicyError | BoundsError | KeyStoreError):
        return str(e), MISTAKE
    if isinstance(e, sqlite3.Error):
        where = f"--log {log}" if log is not None else "the log"
        code = getattr(e, "sqlite_errorcode", 0) & 0xFF
        if code == sqlite3.SQLITE_READONLY:
            return f"{where}: read-only ({e}); reading commands work, writing ones need write access", MISTAKE
        if code == sqlite3.SQLITE_CANTOPEN:
            return f"{where}: cannot be opened ({e})", MISTAKE
        return f"{where}: not a hotline log, or a damaged one ({e})", MISTAKE
    if isinstance(e, OSError):
        what = e.strerror or type(e).__name__
        return (f"{e.filename}: {what}" if e.filename else f"{what}: {e}"), MISTAKE
    if isinstance(e, msgspec.ValidationError):
        return str(e), MISTAKE
    return f"internal error ({type(e).__name__}: {e}); set HOTLINE_DEBUG=1 for the stack trace", INTERNAL


def guard_kafka(fn: Callable[[], T]) -> T:
    """A broker that does not answer is one clear line, not a stack trace."""
    from kafka.errors import KafkaError

    try:
        return fn()
    except _DELIBERATE:
        raise
    except (KafkaError, RuntimeError, ConnectionError, TimeoutError) as e:
        fail(f"Kafka at {_bootstrap()}: {e} (try `hotline broker start`, or set HOTLINE_KAFKA_BOOTSTRAP)")


def _bootstrap() -> str:
    from consumers.kafka_log import bootstrap

    return bootstrap()
