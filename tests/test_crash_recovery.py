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
EVENTS = 100_000
KILLS = 20


def positions(path: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        try:
            return dict(conn.execute("SELECT name, position FROM _positions"))
        except sqlite3.OperationalError:
            return {}


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_sigkill_during_catch_up_loses_and_doubles_nothing(store, tmp_path, request):
    schema = request.getfixturevalue("pg_schema") if store == "postgres" else ""
    settings = settings_for(store, tmp_path, schema)
    build_history(settings.build_app(), EVENTS)
    env = env_for(settings)
    rng = random.Random(2026)
    seen: dict[str, int] = {}
    kills = 0
    while kills < KILLS:
        child = subprocess.Popen([sys.executable, "-m", "tests.catch_up_child"], cwd=ROOT,
                                 env=env, stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "go"
        time.sleep(rng.uniform(0.0, 0.25))
        child.kill()                                    # SIGKILL: no chance to tidy up
        child.wait()
        kills += 1
        now = positions(settings.read_db)
        assert all(now.get(name, 0) >= position for name, position in seen.items())
        seen = now
    assert min(seen.values()) < EVENTS, "the kills came too late to interrupt anything"
    finish = subprocess.run([sys.executable, "-m", "tests.catch_up_child"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert finish.stdout.split() == ["go", "done"], finish.stderr
    survivor = ReadModels(settings.build_app(), settings.read_db)
    fresh = ReadModels(settings.build_app(), tmp_path / "fresh.sqlite3")
    fresh.runner.catch_up()
    assert {s.lag for s in survivor.status()} == {0}
    assert dump(survivor) == dump(fresh)
