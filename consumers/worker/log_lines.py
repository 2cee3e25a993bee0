"""The worker's log lines: plain text when stderr is not a terminal, and connection errors rate-limited.

A worker writes its log to stderr. On a terminal the lines keep faust's colours (mode's formatter);
redirected to a file, a pipe or journald they are plain text: no ANSI escape codes (and faust's
startup spinner, which writes cursor codes to stdout, is off when stdout is not a terminal either).

While a broker restarts, aiokafka and kafka-python log every failed attempt ("Unable connect to node
with id 1: ...", "Connect call failed", "Connection refused", "socket disconnected", ...), several a
second per client. ConnectionErrorLimit lets through at most one such line per logger per `interval`
seconds; the next one that passes says how many were suppressed since. Other lines always pass.

configure(loglevel) sets this up before faust starts (the startup drain logs through kafka-python);
faust_logging(loglevel) is the same for faust.Worker(logging_config=...), which replaces the
root logger's handlers when it starts.
"""

from __future__ import annotations

import logging
import logging.config
import re
import sys
import time
from collections.abc import Callable
from typing import IO, Any

INTERVAL = 10.0  # seconds: at most one connection error line per logger in this time

#: what aiokafka, kafka-python and faust log when a broker cannot be reached (case-insensitive)
CONNECTION_ERROR = re.compile(
    r"unable (to )?connect|connect call failed|connection (refused|reset|lost|failed|error)"
    r"|connection to .* failed|bootstrap (connection|attempt)|socket disconnected"
    r"|kafkaconnectionerror|nodenotready|unable to update metadata|no node available"
    r"|coordinator (dead|not available)|marking the coordinator dead|errno 111",
    re.IGNORECASE,
)

PLAIN_FORMAT = "[%(asctime)s] [%(process)s] [%(levelname)s] %(name)s: %(message)s"


def is_connection_error(record: logging.LogRecord) -> bool:
    if record.exc_info and isinstance(record.exc_info[1], ConnectionError):
        return True
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: let the handler report it as usual
        return False
    return CONNECTION_ERROR.search(message) is not None


class ConnectionErrorLimit(logging.Filter):
    """At most one connection error line per logger (record.name) per `interval` seconds; the next
    line let through carries "(N suppressed in the last S s)". Every other record passes untouched.

    Installed on the worker's log handler, so it sees the records of every logger (a filter on a
    logger would miss those its child loggers propagate)."""

    def __init__(self, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._passed: dict[str, float] = {}  # logger name -> when its last connection error passed
        self._suppressed: dict[str, int] = {}  # logger name -> lines dropped since then

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_connection_error(record):
            return True
        name, now = record.name, self.clock()
        last = self._passed.get(name)
        if last is None:
            self._passed[name] = now
            return True
        if now - last < self.interval:
            self._suppressed[name] = self._suppressed.get(name, 0) + 1
            return False
        self._passed[name] = now
        if suppressed := self._suppressed.pop(name, 0):
            # the count goes into the message; the args are applied already, so none are left to apply
            record.msg = f"{record.getMessage()} ({suppressed} suppressed in the last {now - last:.0f} s)"
            record.args = ()
        return True


def colour(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def logging_config(
    loglevel: str | int = "warning", stream: IO[str] | None = None, interval: float = INTERVAL
) -> dict[str, Any]:
    """A logging.config.dictConfig dict: one handler on `stream` (stderr), coloured by mode's formatter
    only when that stream is a terminal, with the connection error limit. A new dict each call
    (dictConfig consumes it)."""
    stream = sys.stderr if stream is None else stream
    level = logging.getLevelName(loglevel.upper()) if isinstance(loglevel, str) else loglevel
    if not isinstance(level, int):
        raise ValueError(f"unknown log level {loglevel!r} (debug, info, warning, error or critical)")
    if colour(stream):
        from mode.utils.logging import DEFAULT_COLOR_FORMAT, DEFAULT_COLORS

        formatter: dict[str, Any] = {
            "()": "mode.utils.logging.ExtensionFormatter",
            "format": DEFAULT_COLOR_FORMAT,
            "log_colors": DEFAULT_COLORS,
            "stream": stream,  # colorlog decides on this stream, not on mode's default (stdout)
        }
    else:
        formatter = {"format": PLAIN_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"worker": formatter},
        "filters": {"connection_errors": {"()": ConnectionErrorLimit, "interval": interval}},
        "handlers": {
            "worker": {
                "class": "logging.StreamHandler",
                "stream": stream,
                "formatter": "worker",
                "filters": ["connection_errors"],
                "level": level,
            }
        },
        "root": {"level": level, "handlers": ["worker"]},
    }


def configure(loglevel: str | int = "warning", stream: IO[str] | None = None) -> None:
    """Log as the worker does, from now on (before faust starts; faust then sets the same again)."""
    logging.config.dictConfig(logging_config(loglevel, stream))


def faust_logging(loglevel: str | int = "warning") -> dict[str, Any]:
    """For faust.Worker(logging_config=...): mode hands it to dictConfig whole instead of its own
    (a colorlog handler that colours by whether stdout, not stderr, is a terminal)."""
    return logging_config(loglevel)


def quiet_spinner(worker: Any) -> None:
    """faust.Worker's startup spinner writes cursor escape codes to stdout even when stdout is a
    file; keep it for terminals only."""
    spinner = getattr(worker, "spinner", None)
    if spinner is not None and not colour(spinner.file):
        worker.spinner = None
