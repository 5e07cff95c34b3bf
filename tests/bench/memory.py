"""memory: the resident memory of a fresh process serving a store of N tickets.

Setup (not measured) writes N tickets into a SQLite event store quickly: Ticket aggregates are
built directly and saved 1000 at a time together with the year's TicketCounter, whose Issued
events keep numbering valid (the next open gets number N + 1). Half of the tickets are also
assigned, so reads replay more than one event.

Then a fresh child process builds the application as production does (Settings(...).build_app()),
reads the directory, an account, checks a password (argon2 with production costs), reads enough
tickets to fill the aggregate cache as a long-running server would, reads a few histories,
and measures its RSS at rest with psutil. Target: RSS < 150 MB; ratio = 150 / rss_mb.

The child is `python -m tests.bench.memory --probe VAR_DIR N`; this module imports nothing
heavy at the top so that the child's memory is the application's, not the benchmark's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter

LIMIT_MB = 150.0
BATCH = 1000          # tickets per save while building the store
REPO_ROOT = Path(__file__).resolve().parents[2]


def build_store(var_dir: Path, tickets: int) -> None:
    """Write `tickets` tickets (and their counter) into var_dir's event store."""
    from datetime import timedelta

    from domain.clock import ManualClock, beijing_date
    from domain.numbering import TicketCounter
    from domain.ticket import Ticket
    from tests.bench.common import (
        DESCRIPTION,
        INSPECTOR,
        OFFICE,
        SCHOOL,
        START,
        TITLE,
        YEAR,
        build_tiny_county,
    )
    from xiaohao.settings import Settings

    clock = ManualClock(START)
    app = Settings(store="sqlite", var_dir=var_dir).build_app(clock=clock)
    build_tiny_county(app)   # hashed with production argon2 costs, like a real account
    directory = app.directory()
    inspector, office = app.actor(INSPECTOR, "open"), app.actor(OFFICE, "assign")
    counter = TicketCounter(county_code="SS", year=YEAR, timestamp=clock.now())
    for done in range(0, tickets, BATCH):
        batch = []
        for i in range(done, min(done + BATCH, tickets)):
            now = clock.advance(seconds=30)
            number = counter.next_number()
            counter.issue(number, timestamp=now)   # exactly what open_ticket records
            ticket = Ticket(
                number=number, title=TITLE, description=DESCRIPTION,
                town_id=directory.town_of(SCHOOL), unit_id=SCHOOL, category="class_size",
                indicator_id="gov_class_size", severity="serious", source="weekly_check",
                deadline=beijing_date(now) + timedelta(days=30), leader_ids=["L1"],
                evidence=[], by=inspector.stamp(), timestamp=now,
            )
            if i % 2:
                ticket.assign(office, lead_unit_id=SCHOOL, co_unit_ids=[], person_id=None,
                              leader_ids=[], deadline=None, note="请按期整改到位", at=now)
            batch.append(ticket)
        app.save(counter, *batch)
    app.close()


def probe(var_dir: Path, tickets: int) -> dict:
    """In a fresh process: build the app as production does, read, and measure RSS at rest."""
    import gc
    import resource
    import time

    import psutil

    from xiaohao.settings import Settings

    process = psutil.Process()
    imported_mb = process.memory_info().rss / 2**20
    settings = Settings(store="sqlite", var_dir=var_dir)
    app = settings.build_app()

    from domain.numbering import counter_id
    from tests.bench.common import OFFICE, PASSWORD, YEAR

    assert app.directory().units
    app.account(OFFICE)
    assert app.verify_password(OFFICE, PASSWORD)
    reads = min(tickets, settings.cache_size)   # a long-running server fills its cache
    step = max(1, tickets // reads)
    numbers = [f"SS-{YEAR}-{serial:04d}" for serial in range(1, tickets + 1, step)][:reads]
    for number in numbers:
        app.ticket(number)
    for number in numbers[:5]:
        app.ticket_history(number)
    assert app.repository.get(counter_id("SS", YEAR)).last == tickets   # numbering intact
    gc.collect()
    time.sleep(0.5)   # at rest
    info = process.memory_info()
    return {
        "rss_mb": round(info.rss / 2**20, 1),
        "rss_after_imports_mb": round(imported_mb, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "tickets_read": len(numbers),
        "aggregate_cache": settings.cache_size,
    }


def run(tickets: int) -> dict:
    from tests.bench.common import verdict

    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        started = perf_counter()
        build_store(Path(tmp), tickets)
        setup_s = perf_counter() - started
        store_mb = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20
        child = subprocess.run(
            [sys.executable, "-m", "tests.bench.memory", "--probe", tmp, str(tickets)],
            cwd=REPO_ROOT, capture_output=True, text=True,
        )
        if child.returncode:
            raise RuntimeError(f"memory probe failed:\n{child.stderr}")
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    rss = figures["rss_mb"]
    return verdict("memory", LIMIT_MB / rss, 1.0, rss < LIMIT_MB, limit_mb=LIMIT_MB,
                   tickets=tickets, setup_s=round(setup_s, 1), store_mb=round(store_mb, 1),
                   **figures)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--probe":
        print(json.dumps(probe(Path(sys.argv[2]), int(sys.argv[3]))))
    else:
        sys.exit("usage: python -m tests.bench.memory --probe VAR_DIR TICKETS")
