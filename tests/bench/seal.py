"""seal: `xiaohao audit verify` over a large SQLite event store, against only reading the same
notifications with `recorder.select_notifications` (no decode, nothing hashed), interleaved.

Size: `--tickets N` asks tests/history.py for 5 × N events; the default N = 200,000 gives the
issue's 1,000,000. Setup (writing the history, sealing it once, one checkpoint) is not timed in
the verdict; sealing's own rate is reported.

Each of ROUNDS rounds times both sides over the whole log, the order alternating:
- baseline: `recorder.select_notifications` in pages of 5,000, the notifications counted;
- ours: `audit.verify` — every notification read, its leaf hashed and compared with the seal's,
  the tree rebuilt, every recorded checkpoint's root and signature checked.

ratio = the median over rounds of baseline seconds / our seconds; target 0.5.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from time import perf_counter

from tests.bench.common import db_mb, history_store, median, verdict
from xiaohao import audit

TARGET = 0.5
ROUNDS = 3
EVENTS_PER_TICKET = 5
PAGE = 5000


def read_only(app) -> int:
    recorder, start, read = app.recorder, 1, 0
    while True:
        page = recorder.select_notifications(start=start, limit=PAGE)
        if not page:
            return read
        read += len(page)
        start = page[-1].id + 1


def run(tickets: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        settings, app, written, setup_s = history_store(Path(tmp), EVENTS_PER_TICKET * tickets)
        sealer = settings.sealer(app)
        started = perf_counter()
        sealer.checkpoint("基准")
        seal_s = perf_counter() - started
        head = app.recorder.max_notification_id()
        leaves, suite, key = settings.seal_leaves(), settings.seal_suite, settings.seal_key()
        rounds = []
        for i in range(ROUNDS):
            times = {}
            for name in (["baseline", "ours"] if i % 2 == 0 else ["ours", "baseline"]):
                t = perf_counter()
                if name == "baseline":
                    assert read_only(app) == head
                else:
                    report = audit.verify(app, leaves, suite, key)
                    assert report.ok and report.events == head, report.problems
                times[name] = perf_counter() - t
            rounds.append(times)
        size = db_mb(settings.event_db)
        app.close()
    ratio = median([r["baseline"] / r["ours"] for r in rounds])
    return verdict(
        "seal", ratio, TARGET, ratio >= TARGET, ratio_of="median over rounds of baseline_s / "
        "ours_s", events=head, tickets=written, setup_s=round(setup_s, 1), event_db_mb=size,
        sealing={"seconds": round(seal_s, 2), "events_per_s": round(head / seal_s)},
        ours={"seconds": [round(r["ours"], 2) for r in rounds],
              "events_per_s": round(head / median([r["ours"] for r in rounds]))},
        baseline={"seconds": [round(r["baseline"], 2) for r in rounds],
                  "events_per_s": round(head / median([r["baseline"] for r in rounds]))})
