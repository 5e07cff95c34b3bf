"""Kill the projecting process with SIGKILL at random moments during a long catch-up: after
every restart it goes on from its positions, and the result equals a fresh rebuild."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from projections.readmodels import ReadModels
from tests.conftest import settings_for
from tests.history import build_history
from tests.test_numbering_and_restart import env_for
from tests.test_projections import dump

ROOT = Path(__file__).resolve().parent.parent
EVENTS = 100_000     # three bulk batches, then the query indexes are built again
KILLS = 8
KILL_WITHIN = 1.0    # seconds after the batches waited for


def positions(path: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        try:
            return dict(conn.execute("SELECT name, position FROM _positions"))
        except sqlite3.OperationalError:
            return {}


def killed_after(env: dict, batches: int, seconds: float) -> bool:
    """A catch-up child killed with SIGKILL (no chance to tidy up) `seconds` after it has
    committed `batches` batches; False when it finished first."""
    child = subprocess.Popen([sys.executable, "-m", "tests.catch_up_child"], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "go"
        for _ in range(batches):
            if not child.stdout.readline().startswith("at "):
                return False
        time.sleep(seconds)
        return child.poll() is None
    finally:
        child.kill()
        child.wait()


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_sigkill_during_catch_up_loses_and_doubles_nothing(store, tmp_path, request):
    """Killed before its first commit, in the middle of a batch after others were committed,
    or while the indexes are built again: each restart goes on from its positions."""
    schema = request.getfixturevalue("pg_schema") if store == "postgres" else ""
    settings = settings_for(store, tmp_path, schema)
    build_history(settings.build_app(), EVENTS)
    env = env_for(settings)
    rng = random.Random(2026)
    seen: dict[str, int] = {}
    cut_short = committed = 0      # kills that lost a whole batch; kills after a commit
    for _ in range(KILLS):
        if not killed_after(env, rng.randint(0, 1), rng.uniform(0.0, KILL_WITHIN)):
            break
        now = positions(settings.read_db)
        assert all(now.get(name, 0) >= position for name, position in seen.items())
        if any(position > seen.get(name, 0) for name, position in now.items()):
            committed += 1
        else:
            cut_short += 1
        seen = now
    print(f"{store}: {cut_short} kills lost a batch, {committed} came after a commit")
    assert cut_short and committed >= 2, (cut_short, committed)
    finish = subprocess.run([sys.executable, "-m", "tests.catch_up_child"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert finish.stdout.split()[0] == "go" and finish.stdout.split()[-1] == "done", (
        finish.stderr)
    survivor = ReadModels(settings.build_app(), settings.read_db)
    fresh = ReadModels(settings.build_app(), tmp_path / "fresh.sqlite3")
    fresh.runner.catch_up()
    assert {s.lag for s in survivor.status()} == {0}
    assert dump(survivor) == dump(fresh)
