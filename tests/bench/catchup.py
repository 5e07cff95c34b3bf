"""catchup: every read model caught up from zero over a large SQLite event store, against reading
and decoding the same notifications without writing anything, interleaved in chunks.

Size: `--tickets N` asks tests/history.py for 5 × N events (the demo county's directory, then
tickets through whole lives, about 6 events each); the default N = 200,000 gives the issue's
1,000,000 events. The JSON reports the events and tickets actually written. Setup is not timed.

The notification range is cut into CHUNKS equal chunks, and for each chunk both sides run, one
after the other (the order alternates chunk by chunk, so neither always reads a cold cache):
- baseline: `recorder.select_notifications` in pages of the runner's batch size, each
  notification decoded with `app.mapper.to_domain_event`; nothing written;
- ours: `runner.catch_up(stop=chunk_end)` on a fresh read database, all projections.

ratio = the median over chunks of baseline seconds / our seconds (the two sides of a chunk read
the same events a few seconds apart); target 0.5. The ratio of the total times is reported too.
At the end every projection must be at the log head with no error, or the benchmark crashes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from time import perf_counter

from projections.readmodels import ReadModels
from tests.bench.common import db_mb, history_store, median, verdict

TARGET = 0.5
CHUNKS = 10
EVENTS_PER_TICKET = 5   # the "1,000,000 events (about 200,000 tickets)"


def read_and_decode(app, start: int, stop: int, page: int) -> int:
    """The baseline: read notifications start..stop in pages and decode each; returns how many."""
    read = 0
    while start <= stop:
        notifications = app.recorder.select_notifications(start=start, limit=page, stop=stop)
        if not notifications:
            break
        for notification in notifications:
            app.mapper.to_domain_event(notification)
        read += len(notifications)
        start = notifications[-1].id + 1
    return read


def run(tickets: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        settings, app, written, setup_s = history_store(Path(tmp), EVENTS_PER_TICKET * tickets)
        head = app.recorder.max_notification_id() or 0
        read = ReadModels(app, settings.read_db)
        runner = read.runner

        ends = [head * (i + 1) // CHUNKS for i in range(CHUNKS)]
        chunks = []
        for i, end in enumerate(ends):
            start = ends[i - 1] + 1 if i else 1

            def baseline(start=start, end=end) -> int:
                return read_and_decode(app, start, end, runner.batch_size)

            def ours(end=end) -> int:
                return runner.catch_up(stop=end)

            sides = {"baseline": baseline, "ours": ours}
            order = ["baseline", "ours"] if i % 2 == 0 else ["ours", "baseline"]
            chunk = {"events": end - start + 1}
            for name in order:
                t = perf_counter()
                count = sides[name]()
                chunk[name] = perf_counter() - t
                assert count == chunk["events"], (name, count, chunk)
            chunks.append(chunk)

        # The read models must really be caught up, all of them, with no projection stopped.
        status = read.status()
        behind = [s for s in status if s.lag or s.error or s.head != head]
        if behind or len(status) != len(runner.projections):
            raise RuntimeError(f"read models not caught up: {status}")
        rows = read.db.execute("SELECT count(*) FROM tickets").fetchone()[0]
        if rows != written:
            raise RuntimeError(f"{rows} ticket rows for {written} tickets")
        sizes = {"event_db_mb": db_mb(settings.event_db), "read_db_mb": db_mb(settings.read_db)}
        read.close()
        app.close()

    base_s = sum(c["baseline"] for c in chunks)
    ours_s = sum(c["ours"] for c in chunks)
    ratio = median([c["baseline"] / c["ours"] for c in chunks])
    return verdict(
        "catchup", ratio, TARGET, ratio >= TARGET, ratio_of="median over chunks of "
        "baseline_s / ours_s", ratio_of_totals=round(base_s / ours_s, 3), events=head,
        tickets=written, chunks=CHUNKS, projections=sorted(runner.projections),
        batch_size=runner.batch_size, setup_s=round(setup_s, 1),
        **sizes,
        ours={"seconds": round(ours_s, 2), "events_per_s": round(head / ours_s),
              "events_per_s_by_chunk": [round(c["events"] / c["ours"]) for c in chunks]},
        baseline={"seconds": round(base_s, 2), "events_per_s": round(head / base_s),
                  "events_per_s_by_chunk": [round(c["events"] / c["baseline"])
                                            for c in chunks]},
    )
