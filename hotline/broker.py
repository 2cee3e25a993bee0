"""`hotline broker`: a local Apache Kafka broker (KRaft, 127.0.0.1) from Maven Central jars."""

from __future__ import annotations

import subprocess
from pathlib import Path

import typer

from hotline.errors import fail

broker = typer.Typer(help="A local Apache Kafka broker (KRaft, 127.0.0.1) from Maven Central jars.")
BROKER_SCRIPT = Path(__file__).parents[1] / "deploy" / "kafka" / "broker.sh"


def _broker(command: str) -> None:
    if not BROKER_SCRIPT.is_file():
        fail(f"{BROKER_SCRIPT} not found: run from a checkout of the repository")
    raise typer.Exit(subprocess.run(["bash", str(BROKER_SCRIPT), command], check=False).returncode)


@broker.command("start")
def broker_start() -> None:
    """Fetch the jars once, format storage once, start, and wait until the broker answers."""
    _broker("start")


@broker.command("stop")
def broker_stop() -> None:
    """Stop the broker cleanly."""
    _broker("stop")


@broker.command("status")
def broker_status() -> None:
    """Exit 0 when the broker runs, 1 when it does not."""
    _broker("status")
