"""Where a worker keeps its files (consumers/worker/config.py): --state-dir beats $HOTLINE_STATE_DIR,
which beats the per-user default ($XDG_STATE_HOME/hotline, else ~/.local/state/hotline); never the
current directory. --datadir names one worker's directory outright."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from consumers.worker import __main__ as entry
from consumers.worker.config import WorkerConfig, default_state_dir, resolve_state_dir


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HOTLINE_STATE_DIR", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    (tmp_path / "home").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path / "cwd")


def config(**given: Any) -> WorkerConfig:
    return WorkerConfig.from_env(1, 2, servers="127.0.0.1:1", namespace="ns", **given)


def test_the_option_beats_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "from-env"))
    c = config(state_dir=tmp_path / "from-option")
    assert c.state_dir == tmp_path / "from-option"
    assert c.dir == tmp_path / "from-option" / "ns-worker-1"
    assert c.status_path == tmp_path / "from-option" / "ns-worker-1" / "status.json"


def test_the_environment_beats_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "from-env"))
    assert config().dir == tmp_path / "from-env" / "ns-worker-1"
    assert config(state_dir=None).dir == tmp_path / "from-env" / "ns-worker-1"  # an unset option


def test_the_default_is_per_user_not_the_current_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert default_state_dir() == home / ".local" / "state" / "hotline"
    c = config()
    assert c.dir == home / ".local" / "state" / "hotline" / "ns-worker-1"
    assert not c.dir.is_relative_to(Path.cwd())
    assert WorkerConfig(0, 1, servers="127.0.0.1:1", namespace="hotline").dir.is_absolute()


def test_xdg_state_home_when_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert config().dir == tmp_path / "xdg" / "hotline" / "ns-worker-1"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/xdg")  # ignored, as the XDG rules say
    assert config().dir == tmp_path / "home" / ".local" / "state" / "hotline" / "ns-worker-1"


def test_a_relative_state_dir_is_made_absolute(tmp_path: Path) -> None:
    assert resolve_state_dir(Path("state")) == Path.cwd() / "state"
    assert config(state_dir=Path("~/s")).dir == tmp_path / "home" / "s" / "ns-worker-1"


def test_datadir_names_the_directory_itself(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "from-env"))
    assert config(datadir=tmp_path / "mine", state_dir=tmp_path / "s").dir == tmp_path / "mine"


def test_the_entry_point_passes_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def fake(index: int, count: int, servers: Any, namespace: Any, datadir: Any, **kw: Any) -> None:
        seen.update(index=index, count=count, datadir=datadir, **kw)

    monkeypatch.setattr(entry, "main_worker", fake)
    assert entry.main(["--index", "1", "--of", "2", "--state-dir", str(tmp_path / "s")]) == 0
    assert seen["state_dir"] == tmp_path / "s" and seen["datadir"] is None
    assert entry.main([]) == 0
    assert seen["state_dir"] is None  # then $HOTLINE_STATE_DIR or the default, in WorkerConfig
