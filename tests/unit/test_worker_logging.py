"""The worker's log lines (consumers/worker/log_lines.py): connection errors rate-limited per logger,
plain text (no ANSI escape codes) when stderr is not a terminal. No broker, no faust worker."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from mode.utils.logging import setup_logging

from consumers.worker.log_lines import (
    ConnectionErrorLimit,
    configure,
    faust_logging,
    logging_config,
    quiet_spinner,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(
    msg: str, *args: object, name: str = "aiokafka.client", level: int = logging.ERROR
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def refused(name: str = "aiokafka.client") -> logging.LogRecord:
    # what aiokafka logs, word for word, while the broker is down
    return record(
        "Unable connect to node with id %s: %s",
        1,
        "[Errno 111] Connect call failed ('127.0.0.1', 9092)",
        name=name,
    )


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure() and mode replace the root logger's handlers: put them back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_a_burst_of_connection_errors_is_one_line_then_one_with_the_count() -> None:
    clock = Clock()
    limit = ConnectionErrorLimit(interval=10.0, clock=clock)
    passed = []
    for i in range(100):  # 100 inside one second
        clock.now = 1000.0 + i / 100
        if limit.filter(r := refused()):
            passed.append(r)
    assert len(passed) == 1
    assert "suppressed" not in passed[0].getMessage()

    clock.now = 1010.5  # the interval is over
    later = refused()
    assert limit.filter(later)
    message = later.getMessage()
    assert message.startswith("Unable connect to node with id 1: [Errno 111] Connect call failed")
    assert "99 suppressed" in message
    # the count is folded into the message: a formatter applying the args again must not fail
    assert logging.Formatter("%(message)s").format(later) == message

    clock.now = 1011.0  # a new interval began with that line
    assert not limit.filter(refused())


def test_unrelated_lines_always_pass_and_loggers_are_limited_apart() -> None:
    clock = Clock()
    limit = ConnectionErrorLimit(interval=10.0, clock=clock)
    assert limit.filter(refused("aiokafka.client"))
    for _ in range(50):
        assert not limit.filter(refused("aiokafka.client"))
        assert limit.filter(record("skipped an undecodable record on partition %s: %s", 2, "bad"))
        assert limit.filter(record("Heartbeat session expired", name="aiokafka.consumer.group_coordinator"))
    # another logger has its own allowance
    assert limit.filter(record("%s: Connection lost: %s", "<conn>", "reset", name="kafka.net.connection"))
    assert limit.filter(record("Connect failed", name="x", level=logging.WARNING)) is True
    assert limit.filter(record("%s: socket disconnected", "<conn>", name="kafka.net.transport"))
    assert not limit.filter(record("%s: socket disconnected", "<conn>", name="kafka.net.transport"))
    err = record("Metadata refresh: failed", name="kafka.cluster")
    err.exc_info = (ConnectionRefusedError, ConnectionRefusedError(111, "Connection refused"), None)
    assert limit.filter(err)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_text_when_stderr_is_not_a_terminal(
    root_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = io.StringIO()
    configure("info", stream)
    logging.getLogger("faust.worker").warning("a warning")
    logging.getLogger("aiokafka.client").error("Unable connect to node with id %s: %s", 1, "refused")
    logging.getLogger("consumers.worker.main").info("worker %d keeps its state in %s", 0, "/x")
    out = stream.getvalue()
    assert "a warning" in out and "Unable connect to node with id 1: refused" in out and "/x" in out
    assert "\x1b[" not in out

    # the same through the path faust takes: mode's setup_logging with our logging_config
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    setup_logging(loglevel="warning", logging_config=faust_logging("warning"))
    logging.getLogger("faust.transport").error("an error with colour on a terminal")
    logging.getLogger("faust.transport").info("below the level")
    text = sys.stderr.getvalue()  # type: ignore[attr-defined]
    assert "an error with colour on a terminal" in text and "below the level" not in text
    assert "\x1b[" not in text


def test_colour_stays_on_a_terminal(root_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above is not vacuous: on a terminal the same lines are coloured."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = Terminal()
    configure("warning", stream)
    logging.getLogger("faust.worker").error("an error")
    assert "\x1b[" in stream.getvalue()


def test_the_handler_limits_connection_errors_of_every_logger(root_logging: None) -> None:
    stream = io.StringIO()
    configure("warning", stream)
    for _ in range(30):
        logging.getLogger("aiokafka.client").error("Unable connect to node with id %s: %s", 1, "refused")
        logging.getLogger("kafka.net.manager").error(
            "Connection failed: %s", "[Errno 111] Connection refused"
        )
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines


def test_a_bad_log_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        logging_config("loud")


def test_the_spinner_is_off_when_stdout_is_not_a_terminal() -> None:
    worker = SimpleNamespace(spinner=SimpleNamespace(file=io.StringIO()))
    quiet_spinner(worker)
    assert worker.spinner is None
    on_terminal = SimpleNamespace(spinner=SimpleNamespace(file=Terminal()))
    quiet_spinner(on_terminal)
    assert on_terminal.spinner is not None
