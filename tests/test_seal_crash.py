"""Kill the sealer with SIGKILL at random moments while it seals a long log and checkpoints
it: after every restart it goes on from where its last transaction left it, and in the end
its leaves and frontier equal a fresh seal's, and the checkpoint verifies."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domain.checkpoints import Sealer
from tests.conftest import settings_for
from tests.history import build_history
from tests.test_numbering_and_restart import env_for
from xiaohao import audit
from xiaohao.adapters.seal_store import SealInMemory

ROOT = Path(__file__).resolve().parent.parent
EVENTS = 30_000
KILLS = 12


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_sigkill_while_sealing_leaves_the_seal_a_fresh_one_would_make(store, tmp_path, request):
    schema = request.getfixturevalue("pg_schema") if store == "postgres" else ""
    settings = settings_for(store, tmp_path, schema)
    app = settings.build_app()
    build_history(app, EVENTS)
    leaves = settings.seal_leaves()
    env = env_for(settings)
    rng = random.Random(13)
    sizes = []
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-m", "tests.seal_child"], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "go"
        time.sleep(rng.uniform(0.0, 0.4))
        child.kill()                                    # SIGKILL: no chance to tidy up
        child.wait()
        sizes.append(leaves.head().size)
        assert sizes == sorted(sizes), "the seal never goes back"
    total = app.recorder.max_notification_id()
    assert any(0 < size < total for size in sizes), f"the kills missed the sealing: {sizes}"
    finish = subprocess.run([sys.executable, "-m", "tests.seal_child"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert finish.stdout.split() == ["go", "done"], finish.stderr

    settings.sealer(app).follow()       # the checkpoint's own event, recorded after it
    fresh = SealInMemory()
    Sealer(app, fresh, settings.seal_key(), settings.seal_suite).follow()
    head, expected = leaves.head(), fresh.head()
    assert (head.size, head.last_id, head.frontier) == (expected.size, expected.last_id,
                                                        expected.frontier)
    assert [tuple(map(bytes, r[2:])) + tuple(r[:2]) for r in leaves.leaves(0, head.size)] == \
        [tuple(map(bytes, r[2:])) + tuple(r[:2]) for r in fresh.leaves(0, head.size)]
    report = audit.verify(app, leaves, settings.seal_suite, settings.seal_key())
    assert report.ok and report.checkpoints >= 1, report.problems
    app.close()
