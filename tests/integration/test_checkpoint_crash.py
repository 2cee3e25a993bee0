"""kill -9 while a process writes facts and checkpoints to its store: the store it leaves resumes to
exactly the fold of the facts it holds (a checkpoint is written in one transaction, and the ones a
change contradicts are deleted before the facts that contradict them are stored)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from domain.policy import load_policy
from projections.fold import project
from projections.view import digest, snapshot
from storage.resume import open_store

ROOT = Path(__file__).parents[2]
POLICY = load_policy()
WRITER = """
import random, sys
from pathlib import Path
from domain.policy import load_policy
from producers.synthetic import generate
from projections.timeline import Spacing
from storage.resume import open_store
facts = generate(seed=3, companies=40, engineers=400, months=2)
rng = random.Random(int(sys.argv[2]))
for _ in range(len(facts) // 20):  # some arrive late: refolds, checkpoints dropped and taken again
    i = rng.randrange(len(facts))
    facts.insert(min(len(facts), i + rng.randrange(1, 400)), facts.pop(i))
projector, _ = open_store(Path(sys.argv[1]), load_policy(), Spacing(min_facts=40, cost_ratio=0))
print("writing", flush=True)
for i in range(0, len(facts), 60):
    projector.add(facts[i : i + 60])
    projector.state()
print("done", flush=True)
"""


@pytest.mark.parametrize("seed, after_lines", [(1, 0.4), (2, 0.9), (3, 1.6)])
def test_kill_9_while_writing_checkpoints_resumes_to_the_fold(
    tmp_path: Path, seed: int, after_lines: float
) -> None:
    store = tmp_path / "projection.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"writing"
    try:
        proc.wait(timeout=after_lines)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the writer finished before the kill: nothing was tested"

    with sqlite3.connect(store) as db:  # what the kill left: checkpoints among the facts
        (saved,) = db.execute("SELECT COUNT(*) FROM checkpoint_files").fetchone()
    assert saved >= 1
    projector, _ = open_store(store, POLICY)
    held = projector.facts()
    assert held, "the writer was killed before it stored anything"
    latest = max(f.at for f in held)
    assert digest(snapshot(projector.state(latest), latest)) == digest(
        snapshot(project(held, POLICY, latest), latest)
    )
    assert projector.last_refold is not None and projector.last_refold.since is not None  # from one
