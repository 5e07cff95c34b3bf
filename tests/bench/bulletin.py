"""bulletin: building one week's bulletin and every digest, against the read-model query that
counts tickets by town and state, with N tickets (default 100,000) and 1,000 units.

Setup (not timed): tests/history.py writes about 5 × N events over the demo county grown to
one unit per 100 tickets (1,000 at the default size; invented schools, each with a head and an
address; never fewer than the seed's units); the read models catch up.
The application's clock stands at 16:00 on the last Friday of the history (2026-10-30), as
when the bulletin is issued on time: most state intervals are still open, as in a live county.

Timed, interleaved A B A B … after a warm-up, ROUNDS times each, medians:
- baseline: `SELECT town_id, state, count(*) FROM tickets GROUP BY town_id, state`;
- ours: what the bulletin run builds before it saves: the bulletin's content, every 包保
  leader's digest and every responsible unit's list (scheduler.runs.BUILDERS["bulletin"]).
Target: ours ≤ 3 × the baseline (the ratio printed is ours ÷ baseline); seconds reported too.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from time import perf_counter

from domain.clock import ManualClock, at_beijing
from domain.periods import iso_week
from projections.readmodels import ReadModels
from scheduler.runs import BUILDERS
from tests.bench.common import db_mb, history_store, median, verdict

TARGET = 3.0
UNITS = 1000
ROUNDS = 15
WARMUP = 2
LAST_FRIDAY = date(2026, 10, 30)     # tests/history.py's last events fall on the weekend after
COUNT_BY_TOWN_AND_STATE = "SELECT town_id, state, count(*) FROM tickets GROUP BY town_id, state"


def run(tickets: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        units = min(UNITS, tickets // 100)
        # The directory's own events (about three per invented school) come on top.
        settings, app, written, setup_s = history_store(Path(tmp), 5 * tickets + 3 * units,
                                                        units=units)
        app.close()
        friday = LAST_FRIDAY
        app = settings.build_app(clock=ManualClock(at_beijing(friday, 16)))
        read = ReadModels(app, settings.read_db)
        db = read.fresh()
        week = iso_week(friday)

        def baseline():
            return db.execute(COUNT_BY_TOWN_AND_STATE).fetchall()

        def ours():
            return BUILDERS["bulletin"](app, db, week, settings.warn_days)

        for _ in range(WARMUP):
            baseline(), ours()
        times: dict[str, list[float]] = {"baseline": [], "ours": []}
        for _ in range(ROUNDS):
            for side, call in (("baseline", baseline), ("ours", ours)):
                started = perf_counter()
                result = call()
                times[side].append(perf_counter() - started)
        content, digests = result
        sizes = {"read_db_mb": db_mb(settings.read_db), "units": len(app.directory().units)}
        read.close()
        app.close()
    ours_s, base_s = median(times["ours"]), median(times["baseline"])
    ratio = ours_s / base_s
    return verdict("bulletin", ratio, TARGET, ratio <= TARGET,
                   ratio_of="median seconds of the bulletin and its digests / median seconds "
                            "of counting tickets by town and state (lower is better)",
                   ours_s=round(ours_s, 4), baseline_s=round(base_s, 4), tickets=written,
                   week=week, digests=len(digests), overdue=content["totals"]["overdue"],
                   rounds=ROUNDS, setup_s=round(setup_s, 1), **sizes)
