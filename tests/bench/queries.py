"""queries: latency of the read side's three busiest queries over N tickets (default 100,000).

Setup (not timed): tests/history.py writes about 6 × N events (the demo county's 13 towns,
tickets through whole lives over a year from 2025-11-03) and the read models catch up.

Then, interleaved round-robin after a warm-up, RUNS timed calls of each query with varied
parameters, "today" being the Monday after the history ends:
- list: `list_tickets(TicketFilter(town=T, …), sort="light", page=1..5, per_page=50)` with
  filters cycling through state=assigned, state=assigned + severity=serious, light=red and
  state=verified, over every town;
- ledger: the first page (200 rows, what a screen shows) of one town's ledger (一镇一册), every
  town in turn; the whole ledger (what an export writes: thousands of rows per town at this
  size) is timed as `ledger_whole` and reported, but is not in the verdict;
- week: `week_figures` for each week of the history in turn.
Target: p95 ≤ 20 ms for each; ratio = 20 / the worst p95, target 1.0. Before timing, each
town's ledger is checked to hold all its tickets (cancelled ones aside); a short ledger makes
`pass` false whatever the times, and `ledger_short_towns` names the towns.

For context only (not in the verdict), the same loop times two trivial statements on the same
connection: `SELECT count(*) FROM tickets` and a ticket looked up by its number.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from time import perf_counter

from domain.clock import at_beijing
from domain.periods import iso_week
from domain.visibility import EVERYTHING
from projections.cycle import week_figures
from projections.ledger import ledger
from projections.queries import TicketFilter, list_tickets
from projections.readmodels import ReadModels
from tests.bench.common import db_mb, history_store, percentile, verdict
from tests.history import START
from xiaohao.settings import Settings

LIMIT_MS = 20.0
RUNS = 200          # timed calls of each query
WARMUP = 26         # untimed calls of each first (every town twice)
EVENTS_PER_TICKET = 6
TOWNS = [f"T{i:02d}" for i in range(1, 14)]
WARN_DAYS = Settings.model_fields["warn_days"].default   # as a county runs by default
TODAY = date(2026, 11, 2)    # the Monday after the last event of tests/history.py
NOW = at_beijing(TODAY, 10)
WEEKS = [iso_week(START.date() + timedelta(weeks=w)) for w in range(52)]
FILTERS = {"assigned": {"state": "assigned"},
           "assigned_serious": {"state": "assigned", "severity": "serious"},
           "red": {"light": "red"},
           "verified": {"state": "verified"}}


def workload(db, tickets: int) -> dict[str, Callable[[int], object]]:
    """Each query as a function of the run number, which picks its parameters."""
    variants = list(FILTERS)

    def ticket_list(i: int):
        f = FILTERS[variants[i % len(variants)]]
        narrowed = TicketFilter(sight=EVERYTHING, town=TOWNS[i % len(TOWNS)], **f)
        return list_tickets(db, narrowed, TODAY, WARN_DAYS, sort="light",
                            page=1 + (i // len(TOWNS)) % 5, per_page=50).rows

    def count(i: int):
        return db.execute("SELECT count(*) FROM tickets").fetchone()

    def by_number(i: int):
        number = f"SS-{START.year}-{1 + (i * 7919) % tickets:04d}"
        return db.execute("SELECT * FROM tickets WHERE number = ?", (number,)).fetchone()

    return {
        "list": ticket_list,
        "ledger": lambda i: ledger(db, TODAY, WARN_DAYS, sight=EVERYTHING, town=TOWNS[i % len(TOWNS)], page=1,
                                   per_page=200),
        "ledger_whole": lambda i: ledger(db, TODAY, WARN_DAYS, sight=EVERYTHING, town=TOWNS[i % len(TOWNS)]),
        "week": lambda i: week_figures(db, WEEKS[i % len(WEEKS)], NOW),
        "baseline_count": count,
        "baseline_by_number": by_number,
    }


def short_ledgers(db) -> dict[str, list[int]]:
    """Towns whose ledger misses tickets: town -> [rows returned, rows expected]."""
    short = {}
    for town in TOWNS:
        expected = db.execute("SELECT count(*) FROM tickets WHERE town_id = ? "
                              "AND state != 'cancelled'", (town,)).fetchone()[0]
        rows = len(ledger(db, TODAY, WARN_DAYS, sight=EVERYTHING, town=town))
        if rows != expected:
            short[town] = [rows, expected]
    return short


def figures(ms: list[float]) -> dict:
    return {f"p{q}_ms": round(percentile(ms, q), 3) for q in (50, 95, 99)} | {
        "max_ms": round(max(ms), 3)}


def run(tickets: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        settings, app, written, setup_s = history_store(Path(tmp), EVENTS_PER_TICKET * tickets)
        started = perf_counter() - setup_s   # setup_s below also counts the catch-up
        if abs(written - tickets) > 0.05 * tickets + 50:   # the directory counts too
            raise RuntimeError(f"asked for about {tickets} tickets, history wrote {written}")
        read = ReadModels(app, settings.read_db)
        read.runner.catch_up()
        if any(s.lag or s.error for s in read.status()):
            raise RuntimeError(f"read models not caught up: {read.status()}")
        setup_s = perf_counter() - started
        queries = workload(read.db, written)
        short = short_ledgers(read.db)

        sizes: dict[str, list[int]] = defaultdict(list)   # rows each call returned
        for i in range(WARMUP):
            for query in queries.values():
                query(i)
        timings: dict[str, list[float]] = defaultdict(list)
        by_filter: dict[str, list[float]] = defaultdict(list)
        for i in range(RUNS):       # round-robin: noise hits every query alike
            for name, query in queries.items():
                t = perf_counter()
                result = query(i)
                ms = (perf_counter() - t) * 1000
                timings[name].append(ms)
                if name == "list":
                    by_filter[list(FILTERS)[i % len(FILTERS)]].append(ms)
                if name in ("list", "ledger", "ledger_whole"):
                    sizes[name].append(len(result))
                elif name == "week":
                    sizes[name].append(len(result.rows))
        sizes_mb = {"event_db_mb": db_mb(settings.event_db), "read_db_mb": db_mb(settings.read_db)}
        read.close()
        app.close()

    measured = {name: figures(ms) for name, ms in timings.items()}
    worst = max(measured[name]["p95_ms"] for name in ("list", "ledger", "week"))
    return verdict(
        "queries", LIMIT_MS / worst, 1.0, worst <= LIMIT_MS and not short,
        limit_p95_ms=LIMIT_MS, tickets=written, ledger_short_towns=short, runs=RUNS,
        setup_s=round(setup_s, 1), **sizes_mb,
        **{name: measured[name] for name in ("list", "ledger", "week", "ledger_whole")},
        list_p95_ms_by_filter={k: round(percentile(v, 95), 3) for k, v in by_filter.items()},
        rows_per_call={k: round(sum(v) / len(v), 1) for k, v in sizes.items()},
        baseline={k.removeprefix("baseline_"): v for k, v in measured.items()
                  if k.startswith("baseline_")},
    )
