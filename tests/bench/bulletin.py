"""bulletin: building one week's bulletin and every digest, against the minimum-data query (the
overdue items and the items due next week, with their names, read once), with N tickets
(default 100,000) and 1,000 units.

Setup (not timed): tests/history.py writes about 5 × N events over the demo county grown to
one unit per 100 tickets (1,000 at the default size; invented schools, each with a head and an
address; never fewer than the seed's units); the read models catch up.
The application's clock stands at 16:00 on the last Friday of the history (2026-10-30), as
when the bulletin is issued on time: most state intervals are still open, as in a live county.

Timed, interleaved A B A B … after a warm-up, ROUNDS times each, medians:
- baseline (a floor, BENCHMARKS.md): one query reading exactly the items the bulletin and its
  digests name, as of the bulletin's moment (the state intervals holding at Friday 16:00, so
  the weekend's events after it are not read): those not yet rectified and past their
  deadline, and those due next week, each with what is printed of it (number, title, state
  and deadline for the days overdue, days overdue before an extension, the names of its town,
  unit, lead unit, responsible person and 包保 leaders) and the ids that route it to digests
  (town, unit, lead and co-responsible units, leaders); unordered;
- ours: what the bulletin run builds before it saves: the bulletin's content, every 包保
  leader's digest and every responsible unit's list (scheduler.runs.BUILDERS["bulletin"]).
The baseline's rows are checked to be as many as the items the bulletin names.
Target: ours ≤ 3 × the baseline (the ratio printed is ours ÷ baseline); seconds reported too.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from time import perf_counter

from domain.clock import ManualClock, at_beijing
from domain.lights import unrectified_sql
from domain.periods import Week, iso_week
from projections.cycle import moment_text
from projections.readmodels import ReadModels
from scheduler.runs import BUILDERS
from tests.bench.common import db_mb, history_store, median, verdict

TARGET = 3.0
UNITS = 1000
ROUNDS = 15
WARMUP = 2
LAST_FRIDAY = date(2026, 10, 30)     # tests/history.py's last events fall on the weekend after
# The items' columns as the bulletin prints and routes them; names joined, a ticket's 包保
# leaders' names gathered from its list of ids.
NAMED_ITEMS = """SELECT t.number, t.title, s.state, s.deadline, t.overdue_incurred,
    s.town_id, town.name, s.unit_id, unit.name, t.lead_unit_id, lead.name, t.co_unit_ids,
    person.name, t.leader_ids, (SELECT group_concat(p.name, '、') FROM json_each(t.leader_ids) j
                                JOIN people p ON p.id = j.value)
  FROM ticket_states s JOIN tickets t ON t.id = s.ticket_id
  LEFT JOIN units town ON town.code = s.town_id LEFT JOIN units unit ON unit.code = s.unit_id
  LEFT JOIN units lead ON lead.code = t.lead_unit_id
  LEFT JOIN people person ON person.id = t.person_id
  WHERE {holds} AND s.at <= :at AND {unrectified}
    AND (s.deadline < :today OR s.deadline BETWEEN :monday AND :sunday)"""
# An interval holds at :at if it is still open, or ended after :at (each part has its index).
MINIMUM = " UNION ALL ".join(NAMED_ITEMS.format(holds=holds, unrectified=unrectified_sql("s.state"))
                             for holds in ("s.until IS NULL", "s.until > :at"))


def minimum_params(friday: date) -> dict[str, str]:
    """The baseline's moment: the clock's, Friday 16:00 (before its week's end)."""
    monday = Week.parse(iso_week(friday)).end.date()
    return {"at": moment_text(at_beijing(friday, 16)), "today": friday.isoformat(),
            "monday": monday.isoformat(), "sunday": (monday + timedelta(days=6)).isoformat()}


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
        params = minimum_params(friday)

        def baseline():
            return db.execute(MINIMUM, params).fetchall()

        def ours():
            return BUILDERS["bulletin"](app, db, week, settings.warn_days)

        for _ in range(WARMUP):
            rows, _ = baseline(), ours()
        times: dict[str, list[float]] = {"baseline": [], "ours": []}
        for _ in range(ROUNDS):
            for side, call in (("baseline", baseline), ("ours", ours)):
                started = perf_counter()
                result = call()
                times[side].append(perf_counter() - started)
        content, digests = result
        named = sum(len(content[part]["items"]) + content[part]["more"]
                    for part in ("overdue", "due_next_week"))
        sizes = {"read_db_mb": db_mb(settings.read_db), "units": len(app.directory().units)}
        read.close()
        app.close()
    ours_s, base_s = median(times["ours"]), median(times["baseline"])
    ratio = ours_s / base_s
    return verdict("bulletin", ratio, TARGET, ratio <= TARGET and len(rows) == named,
                   ratio_of="median seconds of the bulletin and its digests / median seconds "
                            "of reading the items they name, with their names (lower is "
                            "better)",
                   ours_s=round(ours_s, 4), baseline_s=round(base_s, 4),
                   baseline_rows=len(rows), named_items=named, tickets=written, week=week,
                   digests=len(digests), overdue=content["totals"]["overdue"],
                   rounds=ROUNDS, setup_s=round(setup_s, 1), **sizes)
