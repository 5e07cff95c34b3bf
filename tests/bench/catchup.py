"""catchup: every read model caught up from zero over a large SQLite event store, against a
composite floor that does the same work barely, and guarded against the library's per-event way.

Size: `--tickets N` asks tests/history.py for 5 × N events (the demo county's directory, then
tickets through whole lives, about 6 events each); the default N = 40,000 gives 200,000 events.
The JSON reports the events and tickets actually written. Setup is not timed.

Each of ROUNDS rounds runs three sides, in an order that rotates from round to round:
- ours: `ReadModels(app, db).runner.catch_up()` on a fresh read database, every projection, to
  the log head, the query and word indexes built at the end included;
- floor: the same result at the least cost. It reads the notifications with
  `recorder.select_notifications`, decodes with `app.mapper.to_domain_event` those of a topic
  some projection follows (the ones ours decodes), and into a fresh file opened like ours
  (projections/store.open_read_db) creates the tables from ours' CREATE TABLE statements,
  inserts ours' final rows with bare `executemany`, then builds ours' indexes and fills its word
  index (the virtual tables, with their rowids), all in one transaction, with Python's cyclic
  garbage collector paused as ours pauses it for each batch. The rows are read from a first
  run of ours before the rounds (setup, not timed);
- peer: the same projections driven the library's way, one transaction per notification that
  applies that one event and writes a tracking record per projection (eventsourcing's
  single-row tracking upsert), query and word indexes kept all along; over the first
  PEER_EVENTS notifications only, as it is slow.

ratio = the median over rounds of ours' events/s / the floor's; target 0.6. guard = the median
over rounds of ours' events/s / the peer's; target 5. "pass" needs both. `ours_time` splits a
run of ours (the last round's): reading and decoding, each projection's apply, the indexes built
at the end, and the rest (the runner's own work and the commits).
"""

from __future__ import annotations

import gc
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from time import perf_counter

from projections.base import Item
from projections.readmodels import ReadModels
from projections.runner import BULK_BATCHES
from projections.store import open_read_db
from tests.bench.common import db_mb, history_store, median, verdict

TARGET = 0.6
GUARD = 5.0
ROUNDS = 5
PEER_EVENTS = 20_000
PAGE = 5000
EVENTS_PER_TICKET = 5   # tests/history.py writes about 6 events a ticket: 5 × N events ≈ 0.85 N tickets
TRACKING = ("INSERT INTO tracking VALUES (:name, :id) ON CONFLICT (application_name) DO UPDATE "
            "SET notification_id = :id WHERE tracking.notification_id < :id "
            "RETURNING notification_id")


def fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


class Final:
    """What a caught-up read database holds, to be written again barely: each table's CREATE
    statement and rows, each index's CREATE statement, and each virtual table (the word index)
    with its rows and rowids."""

    def __init__(self, path: Path) -> None:
        conn = sqlite3.connect(path)
        master = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        virtual = [name for kind, name, sql in master
                   if kind == "table" and sql and sql.upper().startswith("CREATE VIRTUAL")]
        shadows = {name for kind, name, _ in master if kind == "table"
                   and any(name.startswith(f"{v}_") for v in virtual)}
        self.tables = {name: sql for kind, name, sql in master if kind == "table"
                       and name not in virtual and name not in shadows
                       and not name.startswith("sqlite_")}
        self.rows = {name: conn.execute(f"SELECT * FROM [{name}]").fetchall()
                     for name in self.tables}
        self.indexes = [sql for kind, _, sql in master if kind == "index" and sql]
        self.virtual = {}
        for name in virtual:
            columns = [c[1] for c in conn.execute(f"PRAGMA table_info([{name}])")]
            sql = next(sql for _, n, sql in master if n == name)
            self.virtual[name] = (sql, columns,
                                  conn.execute(f"SELECT rowid, * FROM [{name}]").fetchall())
        conn.close()

    @property
    def count(self) -> int:
        return sum(map(len, self.rows.values())) + sum(len(v[2]) for v in self.virtual.values())

    def check(self, conn: sqlite3.Connection) -> None:
        """Raise unless `conn` holds as many rows in each table as this."""
        for name in [*self.tables, *self.virtual]:
            rows = self.rows[name] if name in self.rows else self.virtual[name][2]
            if conn.execute(f"SELECT count(*) FROM [{name}]").fetchone()[0] != len(rows):
                raise RuntimeError(f"the floor did not write the rows of {name}")


def floor(app, final: Final, follows: Callable[[str], bool], path: Path
          ) -> tuple[int, int, sqlite3.Connection]:
    """Read and decode the notifications, then write the final rows, indexes and word index
    barely. Returns (notifications read, decoded, the connection, still open)."""
    gc.disable()
    try:
        return _floor(app, final, follows, path)
    finally:
        gc.enable()


def _floor(app, final: Final, follows: Callable[[str], bool], path: Path
           ) -> tuple[int, int, sqlite3.Connection]:
    read = decoded = 0
    start = 1
    to_domain_event = app.mapper.to_domain_event
    while notifications := app.recorder.select_notifications(start=start, limit=PAGE):
        for notification in notifications:
            if follows(notification.topic):
                to_domain_event(notification)
                decoded += 1
        read += len(notifications)
        start = notifications[-1].id + 1
    db = open_read_db(fresh(path))
    conn = db.conn
    conn.execute("BEGIN")
    for sql in final.tables.values():
        conn.execute(sql)
    for name, rows in final.rows.items():
        if rows:
            conn.executemany(f"INSERT INTO [{name}] VALUES ({', '.join('?' * len(rows[0]))})",
                             rows)
    for sql in final.indexes:
        conn.execute(sql)
    for name, (sql, columns, rows) in final.virtual.items():
        conn.execute(sql)
        conn.executemany(f"INSERT INTO [{name}] (rowid, {', '.join(columns)}) "
                         f"VALUES ({', '.join('?' * (len(columns) + 1))})", rows)
    conn.execute("COMMIT")
    return read, decoded, conn


def peer(app, path: Path, stop: int) -> int:
    """The same projections, one transaction per notification with its tracking records, up to
    notification `stop`; returns how many notifications were read."""
    read = ReadModels(app, fresh(path))
    conn = read.db.conn
    conn.execute("CREATE TABLE tracking (application_name TEXT, notification_id INTEGER, "
                 "PRIMARY KEY (application_name)) WITHOUT ROWID")
    projections = list(read.runner.projections.values())
    followers: dict[str, list] = {}
    count, start = 0, 1
    while notifications := app.recorder.select_notifications(start=start, limit=PAGE,
                                                             stop=stop):
        for notification in notifications:
            topic = notification.topic
            if (following := followers.get(topic)) is None:
                following = followers[topic] = [p for p in projections if p.follows(topic)]
            if following:
                event = app.mapper.to_domain_event(notification)
                item = Item.of(notification.id, event, notification.state)
                conn.execute("BEGIN IMMEDIATE")
                for projection in following:
                    projection.apply(conn, [item])
                    conn.execute(TRACKING, {"name": projection.name, "id": notification.id}
                                 ).fetchone()
                conn.execute("COMMIT")
        count += len(notifications)
        start = notifications[-1].id + 1
    read.close()
    return count


def ours(app, path: Path, times: dict[str, float] | None = None) -> ReadModels:
    """Catch every read model up from zero; with `times`, where the time went."""
    read = ReadModels(app, fresh(path))
    if times is not None:
        _split(read, times)
    read.runner.catch_up()
    return read


def _split(read: ReadModels, times: dict[str, float]) -> None:
    """Time the runner's reading and decoding, each projection's apply and the final index
    build, by wrapping them on this instance."""
    def timed(key: str, call: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            started = perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                times[key] += perf_counter() - started
        return wrapper

    runner = read.runner
    runner._read = timed("read_decode", runner._read)
    runner._leave_bulk = timed("indexes_at_end", runner._leave_bulk)
    for projection in runner.projections.values():
        projection.apply = timed(f"apply_{projection.name}", projection.apply)


def check_caught_up(read: ReadModels, head: int, tickets: int) -> None:
    status = read.status()
    behind = [s for s in status if s.lag or s.error or s.head != head]
    if behind or len(status) != len(read.runner.projections):
        raise RuntimeError(f"read models not caught up: {status}")
    rows = read.db.execute("SELECT count(*) FROM tickets").fetchone()[0]
    if rows != tickets:
        raise RuntimeError(f"{rows} ticket rows for {tickets} tickets")


def run(tickets: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        tmp = Path(tmp)
        settings, app, written, setup_s = history_store(tmp, EVENTS_PER_TICKET * tickets)
        head = app.recorder.max_notification_id() or 0
        stop = min(head, PEER_EVENTS)
        path = tmp / "ours.sqlite3"
        first = ours(app, path)                         # setup: the rows the floor writes
        check_caught_up(first, head, written)
        projections = list(first.runner.projections.values())
        batch_size = first.runner.batch_size
        bulk_batch_size = batch_size * BULK_BATCHES
        first.close()
        final = Final(path)
        followed: dict[str, bool] = {}

        def follows(topic: str) -> bool:
            if (answer := followed.get(topic)) is None:
                answer = followed[topic] = any(p.follows(topic) for p in projections)
            return answer

        rounds, split, decoded = [], defaultdict(float), 0
        for i in range(ROUNDS):
            seconds = {}
            for side in ("ours", "floor", "peer")[i % 3:] + ("ours", "floor", "peer")[:i % 3]:
                started = perf_counter()
                if side == "ours":
                    split.clear()
                    read = ours(app, path, split)
                    seconds[side] = perf_counter() - started
                    check_caught_up(read, head, written)
                    read.close()
                elif side == "floor":
                    count, decoded, conn = floor(app, final, follows, tmp / "floor.sqlite3")
                    seconds[side] = perf_counter() - started
                    assert count == head, (count, head)
                    final.check(conn)
                    conn.close()
                else:
                    count = peer(app, tmp / "peer.sqlite3", stop)
                    seconds[side] = perf_counter() - started
                    assert count == stop, (count, stop)
            rounds.append(seconds)
        sizes = {"event_db_mb": db_mb(settings.event_db), "read_db_mb": db_mb(path)}
        app.close()

    rate = {side: [(stop if side == "peer" else head) / r[side] for r in rounds]
            for side in ("ours", "floor", "peer")}
    ratio = median([o / f for o, f in zip(rate["ours"], rate["floor"], strict=True)])
    guard = median([o / p for o, p in zip(rate["ours"], rate["peer"], strict=True)])
    ours_s = rounds[-1]["ours"]
    split["other"] = ours_s - sum(split.values())

    def side(name: str, events: int, **more) -> dict:
        return {"events": events, "events_per_s": round(median(rate[name])),
                "events_per_s_by_round": [round(r) for r in rate[name]],
                "seconds_median": round(median([r[name] for r in rounds]), 2), **more}

    return verdict(
        "catchup", ratio, TARGET, ratio >= TARGET and guard >= GUARD,
        ratio_of="median over rounds of ours events/s / floor events/s",
        guard=round(guard, 2), guard_target=GUARD,
        guard_of="median over rounds of ours events/s / peer events/s",
        events=head, tickets=written, rounds=ROUNDS, batch_size=batch_size,
        bulk_batch_size=bulk_batch_size,
        projections=sorted(p.name for p in projections), setup_s=round(setup_s, 1), **sizes,
        ours=side("ours", head),
        floor=side("floor", head, decoded=decoded, rows=final.count, tables=len(final.tables),
                   indexes=len(final.indexes), word_indexes=sorted(final.virtual)),
        peer=side("peer", stop, note="the whole log" if stop == head else f"the first {stop} "
                  f"of the {head} notifications only: one transaction per notification is too "
                  "slow for the whole log"),
        ours_time={"seconds": round(ours_s, 2),
                   **{k: round(v, 2) for k, v in sorted(split.items(), key=lambda kv: -kv[1])},
                   "share": {k: round(v / ours_s, 3) for k, v in split.items()}},
    )
