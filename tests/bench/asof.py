"""asof: the reading questions as of random past instants against the same questions on the
present, at N tickets (default 100,000), in one run (#13).

Setup (not timed) is the `queries` benchmark's: tests/history.py writes about 6 × N events over
a year and the read models catch up.

Then, interleaved round-robin after a warm-up, RUNS calls of each question on each side:
- list: the ticket-list page query (`list_tickets`, one town, sort="light", pages 1–5, the
  filters of the `queries` benchmark in turn);
- ledger: the first page of one town's ledger (一镇一册), every town in turn;
- week: the week's figures (`week_figures`, what 工作台 shows): the present's current week as of
  now, and the past's the instant's week as of the instant.
The past side asks the same question, with the lights of that day, of a connection made to
answer as of a random instant of the history (projections/asof.py): the moment looked up and
the views made and dropped are timed with it, as a page pays for them.

Target: for each question, p95 of the past ≤ 2 × p95 of the present (ratio = 2 / the worst
p95 ratio, target 1.0).
"""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from time import perf_counter

from domain.clock import beijing
from domain.periods import iso_week
from domain.visibility import EVERYTHING
from projections.asof import as_of, moment_at
from projections.cycle import week_figures
from projections.ledger import ledger
from projections.queries import TicketFilter, list_tickets
from projections.readmodels import ReadModels
from tests.bench.common import db_mb, history_store, verdict
from tests.bench.queries import (
    EVENTS_PER_TICKET,
    FILTERS,
    NOW,
    TODAY,
    TOWNS,
    WARN_DAYS,
    figures,
)
from tests.history import START

RUNS = 200
WARMUP = 26
LIMIT = 2.0


def questions(db):
    variants = list(FILTERS)

    def ticket_list(i: int, day, now):
        f = TicketFilter(sight=EVERYTHING, town=TOWNS[i % len(TOWNS)],
                         **FILTERS[variants[i % len(variants)]])
        return list_tickets(db, f, day, WARN_DAYS, sort="light",
                            page=1 + (i // len(TOWNS)) % 5, per_page=50).rows

    def town_ledger(i: int, day, now):
        return ledger(db, day, WARN_DAYS, sight=EVERYTHING, town=TOWNS[i % len(TOWNS)], page=1,
                      per_page=200)

    def figures_of_the_week(i: int, day, now):
        return week_figures(db, iso_week(day), now).rows

    return {"list": ticket_list, "ledger": town_ledger, "week": figures_of_the_week}


def run(tickets: int) -> dict:
    rng = random.Random(13)
    span = (beijing(START) + timedelta(days=365) - beijing(START)).total_seconds()
    instants = [beijing(START) + timedelta(seconds=rng.uniform(0, span))
                for _ in range(RUNS + WARMUP)]
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        settings, app, written, setup_s = history_store(Path(tmp), EVENTS_PER_TICKET * tickets)
        started = perf_counter() - setup_s
        read = ReadModels(app, settings.read_db)
        read.runner.catch_up()
        setup_s = perf_counter() - started
        db = read.db
        asked = questions(db)
        timings: dict[str, list[float]] = defaultdict(list)
        rows: dict[str, list[int]] = defaultdict(list)
        for i in range(WARMUP + RUNS):
            for name, question in asked.items():
                t = perf_counter()
                now = question(i, TODAY, NOW)
                present = (perf_counter() - t) * 1000
                t = perf_counter()
                moment = moment_at(db, instants[i])
                with as_of(db, moment):
                    then = question(i, moment.day, moment.at)
                past = (perf_counter() - t) * 1000
                if i >= WARMUP:
                    timings[f"{name}_present"].append(present)
                    timings[f"{name}_past"].append(past)
                    rows[f"{name}_present"].append(len(now))
                    rows[f"{name}_past"].append(len(then))
        sizes = {"read_db_mb": db_mb(settings.read_db)}
        read.close()
        app.close()
    measured = {name: figures(ms) for name, ms in timings.items()}
    ratios = {name: round(measured[f"{name}_past"]["p95_ms"]
                          / measured[f"{name}_present"]["p95_ms"], 3) for name in asked}
    worst = max(ratios.values())
    return verdict("asof", LIMIT / worst, 1.0, worst <= LIMIT,
                   p95_past_over_present=ratios, limit=LIMIT,
                   tickets=written, runs=RUNS, setup_s=round(setup_s, 1), **sizes, **measured,
                   rows_per_call={k: round(sum(v) / len(v), 1) for k, v in rows.items()})
