"""lag: how far another process's read models trail the log while commands arrive at 200/s.

Setup (not timed): a tiny county (tests/bench/common.py) in a SQLite event store, and a follower
child process (`python -m tests.bench.lag --follow VAR_DIR CORE`) that builds the application and
its read models as production does, catches up, says "ready", then runs `runner.follow` polling
every POLL seconds; after every catch-up that read something it notes time.time() and the lowest
position of its projections, and prints them all as JSON when stopped (SIGTERM, or its own time
limit).

This process applies commands at RATE per second on a fixed schedule (no bursts to make up for
lost time beyond running late commands at once): `--tickets N` tickets, in waves of WAVE, each
taken through open → assign → check_progress → rectify → reinspect → close, so 6 × N commands
(the default 700 tickets is about 21 s). After each command it notes time.time() and the log's
head, which is that command's last event (this is the only writer).

lag of a command = the first time the follower's read models held its last event − the time the
command returned (0 if the follower got there first). Both clocks are time.time() on one machine.
With two cores or more, this process is pinned to one core and the follower to another.
Target: p99 ≤ 1 s; ratio = 1 / p99 seconds, target 1.0. (`measure` with a PostgreSQL schema is
the same load on PostgreSQL, followed by a web node's own follower, woken by NOTIFY: the
`cluster` benchmark's lag.) `pass` also needs every command seen by
the follower and an achieved rate of at least 95 % of RATE, or the load did not happen.
"""

from __future__ import annotations

import bisect
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from projections.readmodels import ReadModels
from tests.bench.common import (
    DESCRIPTION,
    INSPECTOR,
    OFFICE,
    SCHOOL,
    TITLE,
    UNIT_LOGIN,
    build_tiny_county,
    percentile,
    verdict,
)
from tests.conftest import settings_for
from web.readside import ReadSide
from xiaohao.settings import Settings

RATE = 200.0          # commands per second
POLL = 0.05           # the follower's poll interval, seconds
WAVE = 20             # tickets moved along together
LIMIT_S = 1.0
REPO_ROOT = Path(__file__).resolve().parents[2]


def pin(core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})


def follow(var_dir: Path, core: int | None, max_seconds: float,
           schema: str = "") -> list[tuple[float, int]]:
    """The child: follow the log until SIGTERM; returns (time, lowest position) per catch-up.
    On SQLite it polls every POLL seconds; on PostgreSQL (`schema`) it follows as a web node
    does (web/readside.py, woken by NOTIFY), its position looked at every millisecond."""
    pin(core)
    store = {"store": "postgres", "postgres_dbname": "test", "postgres_schema": schema} \
        if schema else {"store": "sqlite"}
    settings = Settings(var_dir=var_dir, _env_file=None, **store)
    app = settings.build_app()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    timer = threading.Timer(max_seconds, stopping.set)   # never outlive the benchmark
    timer.daemon = True
    timer.start()
    records: list[tuple[float, int]] = []
    if schema:
        reads = ReadSide(app, settings.read_db, wakeups=settings.wakeups(app))
        reads.models.runner.catch_up()
        reads.start_following()
        print("ready", flush=True)
        seen = -1
        while not stopping.wait(0.001):
            if (position := reads.position) is not None and position != seen:
                records.append((time.time(), position))
                seen = position
        reads.close()
        return records
    read = ReadModels(app, settings.read_db)
    read.runner.catch_up()

    def after(status) -> None:
        records.append((time.time(), min(s.position for s in status)))

    print("ready", flush=True)
    read.runner.follow(stopping, POLL, after=after)
    return records


def lives(app, tickets: int):
    """Yield the commands, as callables, that take `tickets` tickets through whole lives."""
    steps = [
        lambda n: app.assign(n, OFFICE, lead_unit_id=SCHOOL, note="请按期整改到位"),
        lambda n: app.check_progress(n, INSPECTOR, note="现场检查，正在推进"),
        lambda n: app.rectify(n, UNIT_LOGIN, measures="已调剂教室，分设两个新班"),
        lambda n: app.reinspect(n, INSPECTOR, passed=True, findings="已整改到位"),
        lambda n: app.close_ticket(n, OFFICE, note="同意销号"),
    ]
    for done in range(0, tickets, WAVE):
        yield from wave(app, min(WAVE, tickets - done), steps)


def wave(app, tickets: int, steps):
    """Open `tickets` tickets, then take them all through each step in turn."""
    numbers: list[str] = []
    for _ in range(tickets):
        yield lambda: numbers.append(app.open_ticket(
            INSPECTOR, title=TITLE, description=DESCRIPTION, unit_id=SCHOOL,
            category="class_size", severity="serious", source="weekly_check",
            deadline=app.today() + timedelta(days=30)))
    for step in steps:
        for i in range(tickets):
            yield lambda step=step, i=i: step(numbers[i])


def positions_min(read_db: Path) -> int:
    with sqlite3.connect(read_db, timeout=30) as conn:
        return conn.execute("SELECT min(position) FROM _positions").fetchone()[0] or 0


def run(tickets: int) -> dict:
    figures = measure(tickets)
    return verdict("lag", 1.0 / max(figures["p99_s"], 1e-3), 1.0,
                   figures["p99_s"] <= LIMIT_S and figures["rate_held"],
                   limit_p99_s=LIMIT_S, poll_s=POLL, **figures)


def measure(tickets: int, schema: str = "") -> dict:
    """Commands at RATE a second in this process, followed by another process's read models
    (on SQLite, or on PostgreSQL in `schema` as another web node); the lag figures."""
    cores = sorted(os.sched_getaffinity(0))
    writer_core, follower_core = (cores[0], cores[1]) if len(cores) >= 2 else (None, None)
    planned_s = 6 * tickets / RATE
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        settings = settings_for("postgres" if schema else "sqlite", Path(tmp), schema)
        app = settings.build_app()
        build_tiny_county(app)
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.lag", "--follow", str(settings.var_dir),
             str(follower_core if follower_core is not None else -1), str(planned_s * 2 + 60),
             *([schema] if schema else [])],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"follower did not start:\n{child.stderr.read()}")
            pin(writer_core)
            done: list[tuple[float, int]] = []          # (time returned, its last event)
            started = time.time()
            deadline = started + planned_s * 1.5 + 10   # bound the load in time
            for k, command in enumerate(lives(app, tickets)):
                wait = started + k / RATE - time.time()
                if wait > 0:
                    time.sleep(wait)
                if time.time() > deadline:
                    break
                command()
                done.append((time.time(), app.recorder.max_notification_id()))
            load_s = done[-1][0] - started
            head = done[-1][1]
            settle = time.time() + 30                   # let the follower reach the head
            while positions_min(settings.read_db) < head and time.time() < settle:
                time.sleep(POLL)
            time.sleep(0.2)                             # and note it
            child.send_signal(signal.SIGTERM)
            out, err = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        if child.returncode:
            raise RuntimeError(f"follower failed:\n{err}")
        records = json.loads(out.strip().splitlines()[-1])
        app.close()

    seen_at = [t for t, _ in records]
    reached = [position for _, position in records]
    lags, missing = [], 0
    for returned, event in done:
        i = bisect.bisect_left(reached, event)      # positions only grow
        if i == len(reached):
            missing += 1
        else:
            lags.append(max(0.0, seen_at[i] - returned))
    p99 = percentile(lags, 99) if not missing else float("inf")
    rate = len(done) / load_s
    return {"p99_s": p99, "rate_held": rate >= 0.95 * RATE, "tickets": tickets,
            "commands": len(done), "events": head, "target_rate": RATE,
            "achieved_rate": round(rate, 1), "seconds": round(load_s, 1),
            "follower_catch_ups": len(records), "missing": missing,
            "p50_ms": round(percentile(lags, 50) * 1000, 1),
            "p99_ms": round(p99 * 1000, 1) if not missing else None,
            "max_ms": round(max(lags, default=0) * 1000, 1),
            "cores": {"writer": writer_core, "follower": follower_core}}


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "--follow":
        core = int(sys.argv[3])
        found = follow(Path(sys.argv[2]), None if core < 0 else core, float(sys.argv[4]),
                       *sys.argv[5:])
        print(json.dumps(found))
    else:
        sys.exit("usage: python -m tests.bench.lag --follow VAR_DIR CORE MAX_SECONDS [SCHEMA]")
