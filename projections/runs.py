"""The `runs` read model: every run of the cycle as issued (the bulletin archive among them),
and the outbox (发件箱), one row per delivery with where it stands."""

from __future__ import annotations

import json
import sqlite3

from sqlite_utils import Database

from domain.clock import beijing
from projections.base import Item, Projection


def _time(moment) -> str | None:
    return beijing(moment).isoformat(timespec="microseconds") if moment else None


class RunsProjection(Projection):
    name = "runs"
    topics = ("domain.cycle:CycleRun.", "domain.delivery:Delivery.")
    tables = ("runs", "deliveries")
    query_indexes = {"deliveries_due": "CREATE INDEX IF NOT EXISTS deliveries_due "
                                       "ON deliveries (state, next_attempt_at)",
                     "deliveries_run": "CREATE INDEX IF NOT EXISTS deliveries_run "
                                       "ON deliveries (kind, period)"}

    def create_tables(self, db: Database) -> None:
        db["runs"].create({"id": str, "kind": str, "period": str, "number": int,
                           "issued_at": str, "by_login": str, "position": int, "content": str},
                          pk="id")
        db["runs"].create_index(["kind", "period"], unique=True)
        db["deliveries"].create(
            {"id": str, "kind": str, "period": str, "recipient_key": str, "name": str,
             "address": str, "role": str, "subject": str, "message_id": str, "state": str,
             "attempts": int, "failures": int, "next_attempt_at": str, "last_error": str,
             "queued_at": str, "delivered_at": str, "channel": str, "seq": int}, pk="id")
        self.create_query_indexes(db)

    def on_Issued(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (item.aggregate, e.kind, e.period, e.number, item.at, e.by, e.position,
                      json.dumps(e.content, ensure_ascii=False)))

    def on_Queued(self, conn: sqlite3.Connection, item: Item) -> None:
        e, r = item.event, item.event.recipient
        conn.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, 0, "
                     "?, '', ?, NULL, NULL, ?)",
                     (item.aggregate, e.kind, e.period, r["key"], r["name"], r.get("address"),
                      r.get("role"), e.subject, e.message_id, item.at, item.at, item.n))

    def _set(self, conn: sqlite3.Connection, item: Item, sql: str, *values) -> None:
        conn.execute(f"UPDATE deliveries SET {sql} WHERE id = ?", (*values, item.aggregate))

    def on_Attempted(self, conn: sqlite3.Connection, item: Item) -> None:
        # While sending, next_attempt_at holds when the attempt began (see due_deliveries).
        self._set(conn, item, "state = 'sending', attempts = attempts + 1, channel = ?, "
                  "next_attempt_at = ?", item.event.channel, item.at)

    def on_Delivered(self, conn: sqlite3.Connection, item: Item) -> None:
        self._set(conn, item, "state = 'delivered', delivered_at = ?, last_error = ''", item.at)

    def on_AttemptFailed(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        self._set(conn, item, "state = ?, failures = failures + 1, last_error = ?, "
                  "next_attempt_at = ?", "queued" if e.retry_at else "failed", e.error,
                  _time(e.retry_at))

    def on_Requeued(self, conn: sqlite3.Connection, item: Item) -> None:
        self._set(conn, item, "state = 'queued', failures = 0, next_attempt_at = ?", item.at)


def _rows(db: Database, sql: str, params: tuple | dict = ()) -> list[dict]:
    cursor = db.execute(sql, params)
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, r, strict=True)) for r in cursor]


def due_deliveries(db: Database, now, stale_before, limit: int = 200) -> list[dict]:
    """Deliveries a sender should try now: queued ones whose time has come, and ones left
    `sending` since before `stale_before` (a sender stopped mid-send), oldest first."""
    return _rows(db, "SELECT * FROM deliveries WHERE (state = 'queued' AND next_attempt_at <= ?) "
                 "OR (state = 'sending' AND next_attempt_at <= ?) ORDER BY seq LIMIT ?",
                 (_time(now), _time(stale_before), limit))


def outbox(db: Database, state: str | None = None, limit: int = 100, offset: int = 0) -> list[dict]:
    """发件箱: the newest deliveries first, of one state or all."""
    where, params = ("WHERE state = ?", (state,)) if state else ("", ())
    return _rows(db, f"SELECT * FROM deliveries {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                 (*params, limit, offset))


def outbox_counts(db: Database) -> dict[str, int]:
    counts = dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
    return {state: counts.get(state, 0) for state in ("queued", "sending", "delivered", "failed")}


def runs_of(db: Database, kind: str) -> list[dict]:
    """The runs of one kind, newest first (the bulletin archive), without their content."""
    return _rows(db, "SELECT id, kind, period, number, issued_at, by_login, position FROM runs "
                 "WHERE kind = ? ORDER BY period DESC", (kind,))


def run_of(db: Database, kind: str, period: str) -> dict | None:
    """One run with its content decoded, or None."""
    rows = _rows(db, "SELECT * FROM runs WHERE kind = ? AND period = ?", (kind, period))
    if not rows:
        return None
    return {**rows[0], "content": json.loads(rows[0]["content"])}
