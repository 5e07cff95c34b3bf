"""The `runs` read model: every run of the cycle as issued (the bulletin archive among them),
and the outbox (发件箱), one row per delivery with where it stands: digests and reminders, and
the notices events send (a notice held for a daily digest shows as 待汇总, then 已汇总 once the
digest that carries it is queued). A daily reminder's row keeps what it left its recipient
knowing (`known`), which is what the next day's reminder compares with."""

from __future__ import annotations

import json
import sqlite3
from uuid import UUID

from sqlite_utils import Database

from domain.clock import beijing
from domain.delivery import STATES
from domain.visibility import Sight
from projections.base import Item, Projection, as_dicts
from projections.queries import visible_numbers


def _time(moment) -> str | None:
    return beijing(moment).isoformat(timespec="microseconds") if moment else None


# What a reminder named, for reminders queued before they said so themselves (#11).
OLD_REMINDERS = {"unit_list": ("overdue", "due_soon"), "leader_escalation": ("overdue",)}


def _known(kind: str, payload: dict) -> str | None:
    if "known" in payload:
        return json.dumps(payload["known"], ensure_ascii=False)
    parts = OLD_REMINDERS.get(payload.get("kind")) if kind == "reminders" else None
    if not parts:
        return None
    return json.dumps({p: [i["number"] for i in payload.get(p, [])] for p in
                       ("overdue", "due_soon")}, ensure_ascii=False)


class RunsProjection(Projection):
    name = "runs"
    version = 2     # 2: held notices, what a reminder knew, the digest that gathered a notice
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
             "queued_at": str, "delivered_at": str, "channel": str, "seq": int,
             "known": str, "digest_id": str}, pk="id")
        self.create_query_indexes(db)

    def on_Issued(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (item.aggregate, e.kind, e.period, e.number, item.at, e.by, e.position,
                      json.dumps(e.content, ensure_ascii=False)))

    def on_Queued(self, conn: sqlite3.Connection, item: Item) -> None:
        e, r = item.event, item.event.recipient
        state = "held" if getattr(e, "held", False) else "queued"
        conn.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, "
                     "?, '', ?, NULL, NULL, ?, ?, NULL)",
                     (item.aggregate, e.kind, e.period, r["key"], r["name"], r.get("address"),
                      r.get("role"), e.subject, e.message_id, state, item.at, item.at, item.n,
                      _known(e.kind, e.payload)))
        gathered = [n["id"] for n in e.payload.get("notices", [])
                    if e.payload.get("kind") == "notice_digest"]
        conn.executemany("UPDATE deliveries SET state = 'gathered', digest_id = ? "
                         "WHERE id = ? AND state = 'held'",
                         [(item.aggregate, UUID(n).hex) for n in gathered])

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
    return as_dicts(db.execute(sql, params))


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
    return {state: counts.get(state, 0) for state in STATES}


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


def last_reminders(db: Database, day: str) -> dict[str, dict]:
    """Each recipient's last daily reminder before `day`: its day and what it left them
    knowing (the numbers open, by part), by recipient key."""
    rows = db.execute(
        "SELECT recipient_key, max(period), known FROM deliveries WHERE kind = 'reminders' "
        "AND period < ? AND known IS NOT NULL GROUP BY recipient_key", (day,))
    return {key: {"day": period, **json.loads(known)} for key, period, known in rows}


def previous_run(db: Database, kind: str, period: str) -> dict | None:
    """The last run of `kind` before `period`, with its content, or None."""
    rows = _rows(db, "SELECT * FROM runs WHERE kind = ? AND period < ? ORDER BY period DESC "
                 "LIMIT 1", (kind, period))
    return {**rows[0], "content": json.loads(rows[0]["content"])} if rows else None


def held_notices(db: Database, after: int) -> list[tuple[str, int]]:
    """Notices held for a daily digest and not yet gathered, recorded after log position
    `after`: (delivery id, position), oldest first."""
    return db.execute("SELECT id, seq FROM deliveries WHERE state = 'held' AND seq > ? "
                      "ORDER BY seq", (after,)).fetchall()


def office_accounts(db: Database) -> list[tuple[str | None, str | None]]:
    """(person, unit) of each enabled office account: who hears of a 批示 for the office."""
    return [(person, unit) for roles, person, unit in db.execute(
                "SELECT roles, person_id, unit_id FROM accounts WHERE NOT disabled ORDER BY login")
            if "office" in json.loads(roles or "[]")]


NOTICES = "_notices"     # how far this read database's notice follower has read the log


def notices_position(db: Database) -> int:
    db.execute(f"CREATE TABLE IF NOT EXISTS {NOTICES} (id INTEGER PRIMARY KEY, position INTEGER)")
    row = db.execute(f"SELECT position FROM {NOTICES} WHERE id = 1").fetchone()
    return row[0] if row else 0


def record_notices_position(db: Database, position: int) -> None:
    db.execute(f"INSERT INTO {NOTICES} VALUES (1, ?) ON CONFLICT (id) DO UPDATE "
               "SET position = max(position, excluded.position)", (position,))


def bulletin_as_seen(db: Database, content: dict, sight: Sight) -> dict:
    """The bulletin as this user may read it: the figures for all, but only the named items
    of tickets they see (a unit reads its own; the office the whole 通报)."""
    if sight.everything:
        return content
    lists = ("overdue", "due_next_week")
    numbers = [i["number"] for part in lists for i in content[part]["items"]]
    visible = visible_numbers(db, numbers, sight)
    return content | {part: {"items": [i for i in content[part]["items"]
                                       if i["number"] in visible], "more": 0}
                      for part in lists}
