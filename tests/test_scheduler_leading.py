"""One leading scheduler (#16 §4): two `xiaohao scheduler` processes on one store, on
PostgreSQL and on an SQLite file. One leads and ticks, the other waits; the leader is killed
with SIGKILL mid-work and the other leads within 15 s. Every period due is issued once, and
every message is delivered once (the one the kill cut off at most twice, with one Message-ID)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from datetime import time as day_time
from pathlib import Path

import pytest

from domain.clock import BEIJING, beijing_date
from domain.delivery import Delivery
from tests.conftest import fresh_schema, open_at_school_a, seed_small_county, settings_for
from tests.test_cycle import with_contacts

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
XIAOHAO = [sys.executable, "-c", "from xiaohao.cli import main; main()"]
TAKEOVER = 15       # seconds from the leader's death to another's lead


class Scheduler:
    """A `xiaohao scheduler` process (or `serve`, which runs one too), its stderr lines kept
    with the time each came."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.lines: list[tuple[float, str]] = []
        self.process = subprocess.Popen([*XIAOHAO, *(args or ("scheduler",))], cwd=ROOT,
                                        env=env, text=True, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append((time.monotonic(), line))

    def led_at(self, after: float = 0) -> float | None:
        return next((at for at, line in self.lines if "leads now" in line and at >= after), None)

    def wait_to_lead(self, after: float = 0, within: float = 30) -> float:
        deadline = time.monotonic() + within
        while (at := self.led_at(after)) is None:
            said = "".join(line for _, line in self.lines)
            assert self.process.poll() is None, said
            assert time.monotonic() < deadline, f"no lead within {within} s: {said}"
            time.sleep(0.05)
        return at

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request):
    if request.param == "sqlite":
        yield "sqlite", ""
        return
    with fresh_schema("xh_lead") as schema:
        yield "postgres", schema


def assign_some(app, count: int) -> None:
    """Work that tells people: tickets opened at school A and assigned to its head."""
    for i in range(count):
        number = open_at_school_a(app, title=f"第{i}处墙皮脱落")
        app.assign(number, "office", lead_unit_id="TA-P01", person_id="HA",
                   deadline=beijing_date(app.now()) + timedelta(days=10))


def test_one_scheduler_leads_and_another_takes_over_when_it_is_killed(store, tmp_path):
    kind, schema = store
    settings = settings_for(kind, tmp_path, schema)      # the store, on the real clock
    app = settings.build_app()
    seed_small_county(app)
    with_contacts(app)
    env = os.environ | {
        "XIAOHAO_STORE": kind, "XIAOHAO_POSTGRES_DBNAME": settings.postgres_dbname,
        "XIAOHAO_POSTGRES_SCHEMA": schema, "XIAOHAO_SCHEDULER_TICK_SECONDS": "1",
        "XIAOHAO_SCHEDULER_CONTEND_SECONDS": "1", "XIAOHAO_SEAL_KEY_FILE": str(tmp_path / "seal.key"),
        "XIAOHAO_ARGON2_TIME_COST": "1", "XIAOHAO_ARGON2_MEMORY_KIB": "8192"}

    def node(name: str) -> Scheduler:
        # On SQLite the nodes share the store's folder; on PostgreSQL each keeps its own (its
        # read models and its Maildir), as separate machines would.
        var = settings.var_dir if kind == "sqlite" else tmp_path / name
        return Scheduler(env | {"XIAOHAO_VAR_DIR": str(var)})

    nodes = node("a"), node("b")
    try:
        deadline = time.monotonic() + 30
        while not any(n.led_at() for n in nodes):      # whichever takes the lock first
            assert time.monotonic() < deadline and all(n.process.poll() is None for n in nodes)
            time.sleep(0.05)
        first, second = sorted(nodes, key=lambda n: n.led_at() is None)
        time.sleep(2)
        assert second.led_at() is None                  # the other waits
        assign_some(app, 20)
        time.sleep(1.5)                     # the leader at work
        assign_some(app, 20)
        first.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        first.process.wait(timeout=10)
        took_over = second.wait_to_lead(after=killed)
        print(f"{kind}: another led {took_over - killed:.1f} s after the kill")
        assert took_over - killed <= TAKEOVER, f"took {took_over - killed:.1f} s"
        assign_some(app, 10)
        deliveries = wait_until_all_delivered(app, at_least=50, within=60)   # one per ticket
    finally:
        for scheduler in nodes:
            scheduler.stop()

    # every message once: delivered once, attempted at most twice (the one cut off)
    for d in deliveries:
        steps = [type(e).__name__ for e in app.events.get(d.id)]
        assert steps.count("Delivered") == 1 and steps.count("Attempted") <= 2, steps
    assert sum(1 for d in deliveries
               if [type(e).__name__ for e in app.events.get(d.id)].count("Attempted") == 2) <= 1
    # every period due since the campaign began issued once
    now = app.now()
    start = datetime.combine(beijing_date(app.directory().created_on), day_time(),
                             tzinfo=BEIJING)
    for due in settings.schedule().due_between(start, now):
        if due.kind != "reminders" or beijing_date(due.at) == beijing_date(now):
            assert app.cycle_run(due.kind, due.period) is not None, due
    app.close()


def wait_until_all_delivered(app, at_least: int, within: float) -> list[Delivery]:
    """Every delivery in the store once none is left to send (the notices of the work above;
    a bulletin's digests wait for the office to sign it, which nobody does here)."""
    deadline = time.monotonic() + within
    while True:
        found = [d for n in app.recorder.select_notifications(start=1, limit=100_000)
                 if n.topic.startswith("domain.delivery:Delivery") and n.originator_version == 1
                 and not (d := app.repository.get(n.originator_id)).until_signed]
        pending = [d for d in found if d.state not in ("delivered", "held", "failed")]
        if len(found) >= at_least and not pending:
            return found
        assert time.monotonic() < deadline, [(d.subject, d.state) for d in pending][:5]
        time.sleep(0.5)
