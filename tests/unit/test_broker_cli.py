"""`hotline broker` without a broker, and where deploy/kafka/broker.sh puts one, read from the
environment: no broker is started here (a throwaway HOTLINE_KAFKA_HOME holds no pid file)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.broker import BROKER_SCRIPT
from hotline.cli import app

runner = CliRunner()


def closed_port() -> int:
    """A port nothing listens on: one the system just handed out, closed again."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", [["topics"], ["groups"], ["groups", "some-group"]])
def test_no_broker_is_one_line_and_exit_status_2(command: list[str]) -> None:
    where = f"127.0.0.1:{closed_port()}"
    result = runner.invoke(
        app, ["broker", *command, "--timeout", "0.5"], env={"HOTLINE_KAFKA_BOOTSTRAP": where}
    )
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: no Kafka broker answers at {where} within 0.5s")
    assert "hotline broker start" in lines[0] and "Traceback" not in result.stderr


def test_servers_overrides_the_environment() -> None:
    where = f"127.0.0.1:{closed_port()}"
    result = runner.invoke(
        app,
        ["broker", "topics", "--servers", where, "--timeout", "0.5"],
        env={"HOTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
    )
    assert result.exit_code == 2
    assert f"no Kafka broker answers at {where}" in result.stderr


def broker_sh(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    return subprocess.run(
        ["bash", str(BROKER_SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**clean, "HOTLINE_KAFKA_HOME": str(home), **env},
        timeout=30,
    )


def test_broker_sh_listens_on_the_port_of_the_bootstrap(tmp_path: Path) -> None:
    default = broker_sh(tmp_path, "status")
    assert default.returncode == 1  # not running
    assert f"data dir {tmp_path}/4.3.1/data)" in default.stdout  # 9092: the data dir as it always was
    assert broker_sh(tmp_path, "env").stdout == "export HOTLINE_KAFKA_BOOTSTRAP=127.0.0.1:9092\n"

    other = {"HOTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:9192"}
    assert broker_sh(tmp_path, "env", **other).stdout == "export HOTLINE_KAFKA_BOOTSTRAP=127.0.0.1:9192\n"
    status = broker_sh(tmp_path, "status", **other)
    assert f"data dir {tmp_path}/4.3.1/data-9192)" in status.stdout  # its own pid file and storage
    # HOTLINE_KAFKA_PORT, when set, still names the port
    explicit = broker_sh(tmp_path, "env", HOTLINE_KAFKA_PORT="19092", **other)
    assert explicit.stdout == "export HOTLINE_KAFKA_BOOTSTRAP=127.0.0.1:19092\n"


def test_the_sasl_broker_keeps_its_own_port(tmp_path: Path) -> None:
    status = broker_sh(tmp_path, "--sasl", "status", HOTLINE_KAFKA_BOOTSTRAP="127.0.0.1:9192")
    assert f"data dir {tmp_path}/4.3.1/data-sasl)" in status.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOTLINE_KAFKA_BOOTSTRAP": "127.0.0.1"}, "expected host:port"),
        ({"HOTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:70000"}, "expected host:port"),
        (
            {
                "HOTLINE_KAFKA_BOOTSTRAP": "127.0.0.1:9094",
                "HOTLINE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            },
            "is a SASL_PLAINTEXT broker (HOTLINE_KAFKA_SECURITY_PROTOCOL): add --sasl",
        ),
    ],
)
def test_broker_sh_names_a_bad_bootstrap_in_one_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    for command in ("status", "start", "stop", "env"):
        result = broker_sh(tmp_path, command, **env)
        assert result.returncode == 2, result
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "4.3.1").exists()  # nothing was started or made
