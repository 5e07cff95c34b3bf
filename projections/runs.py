"""The `runs` read model: every run of the cycle as issued (the bulletin archive among them),
and the outbox (发件箱), one row per delivery with where it stands: digests and reminders, and
the notices events send (a notice held for a daily digest shows as 待汇总, then 已汇总 once the
digest that carries it is queued). A daily reminder's row keeps what it left its recipient
knowing (`known`), which is what the next day's reminder compares with."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlite_utils import Database

from domain.clock import beijing
from domain.delivery import STATES
from domain.periods import Week
from domain.telling import named_in
from domain.visibility import Sight
from projections.base import Item, Projection, as_dicts
from projections.cycle import LATEST
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
    version = 4     # 2: held notices, what a reminder knew, the digest that gathered a notice;
                    # 3: `told`, the tickets each run and message named;
                    # 4: a bulletin's draft, its document and 签发
    topics = ("domain.cycle:CycleRun.", "domain.delivery:Delivery.")
    tables = ("runs", "deliveries", "told")
    query_indexes = {"deliveries_due": "CREATE INDEX IF NOT EXISTS deliveries_due "
                                       "ON deliveries (state, next_attempt_at)",
                     "deliveries_run": "CREATE INDEX IF NOT EXISTS deliveries_run "
                                       "ON deliveries (kind, period)",
                     "deliveries_recipient": "CREATE INDEX IF NOT EXISTS deliveries_recipient "
                                             "ON deliveries (recipient_key, seq)",
                     "told_number": "CREATE INDEX IF NOT EXISTS told_number ON told (number, n)"}

    def create_tables(self, db: Database) -> None:
        db["runs"].create({"id": str, "kind": str, "period": str, "number": int,
                           "issued_at": str, "by_login": str, "position": int, "content": str,
                           "draft": int, "document": str, "document_number": str,
                           "signed_at": str, "signed_by": str}, pk="id")
        db["runs"].create_index(["kind", "period"], unique=True)
        db["deliveries"].create(
            {"id": str, "kind": str, "period": str, "recipient_key": str, "name": str,
             "address": str, "role": str, "subject": str, "message_id": str, "state": str,
             "attempts": int, "failures": int, "next_attempt_at": str, "last_error": str,
             "queued_at": str, "delivered_at": str, "channel": str, "seq": int,
             "known": str, "digest_id": str}, pk="id")
        # Each ticket a run (a bulletin) or a message named, and in which part (domain/telling.py)
        db["told"].create({"n": int, "at": str, "run_id": str, "delivery_id": str,
                           "number": str, "part": str})
        self.create_query_indexes(db)

    def on_Issued(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        draft = getattr(e, "draft", False)
        document = getattr(e, "document", None) if draft else None
        conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL, '')",
                     (item.aggregate, e.kind, e.period, e.number, item.at, e.by, e.position,
                      json.dumps(e.content, ensure_ascii=False), int(draft),
                      json.dumps(document, ensure_ascii=False) if document else None))
        if e.kind == "bulletin" and not draft:
            _told(conn, item, e.content, run=item.aggregate)

    def on_Edited(self, conn: sqlite3.Connection, item: Item) -> None:
        conn.execute("UPDATE runs SET document = ? WHERE id = ?",
                     (json.dumps(item.event.document, ensure_ascii=False), item.aggregate))

    def on_Signed(self, conn: sqlite3.Connection, item: Item) -> None:
        """签发: the bulletin published with its document, 文号 and seal; the tickets it
        names told; its digests released to be sent."""
        e = item.event
        conn.execute("UPDATE runs SET draft = 0, document = ?, document_number = ?, "
                     "signed_at = ?, signed_by = ? WHERE id = ?",
                     (json.dumps(e.document, ensure_ascii=False), e.document_number, item.at,
                      e.by, item.aggregate))
        kind, period, content = conn.execute("SELECT kind, period, content FROM runs "
                                             "WHERE id = ?", (item.aggregate,)).fetchone()
        if e.seal:
            content = json.dumps({**json.loads(content), "seal": e.seal}, ensure_ascii=False)
            conn.execute("UPDATE runs SET content = ? WHERE id = ?", (content, item.aggregate))
        _told(conn, item, json.loads(content), run=item.aggregate)
        # its digests tell of their tickets from now on, and go out
        conn.execute("UPDATE told SET n = ?, at = ? WHERE delivery_id IN (SELECT id FROM "
                     "deliveries WHERE kind = ? AND period = ? AND state = 'unsigned')",
                     (item.n, item.at, kind, period))
        conn.execute("UPDATE deliveries SET state = 'queued', next_attempt_at = ? "
                     "WHERE kind = ? AND period = ? AND state = 'unsigned'",
                     (item.at, kind, period))

    def on_Queued(self, conn: sqlite3.Connection, item: Item) -> None:
        e, r = item.event, item.event.recipient
        state = "held" if getattr(e, "held", False) else \
            "unsigned" if getattr(e, "until_signed", False) else "queued"
        conn.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, "
                     "?, '', ?, NULL, NULL, ?, ?, NULL)",
                     (item.aggregate, e.kind, e.period, r["key"], r["name"], r.get("address"),
                      r.get("role"), e.subject, e.message_id, state, item.at, item.at, item.n,
                      _known(e.kind, e.payload)))
        _told(conn, item, e.payload, delivery=item.aggregate)
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

    def on_Withdrawn(self, conn: sqlite3.Connection, item: Item) -> None:
        self._set(conn, item, "state = 'withdrawn', last_error = ?", item.event.reason)


def _told(conn: sqlite3.Connection, item: Item, content: dict, *, run: str | None = None,
          delivery: str | None = None) -> None:
    conn.executemany("INSERT INTO told VALUES (?, ?, ?, ?, ?, ?)",
                     [(item.n, item.at, run, delivery, number, part)
                      for number, part in dict.fromkeys(named_in(content))])


def _rows(db: Database, sql: str, params: tuple | dict = ()) -> list[dict]:
    return as_dicts(db.execute(sql, params))


def due_deliveries(db: Database, now, stale_before, limit: int = 200) -> list[dict]:
    """Deliveries a sender should try now: queued ones whose time has come, and ones left
    `sending` since before `stale_before` (a sender stopped mid-send), oldest first."""
    return _rows(db, "SELECT * FROM deliveries WHERE (state = 'queued' AND next_attempt_at <= ?) "
                 "OR (state = 'sending' AND next_attempt_at <= ?) ORDER BY seq LIMIT ?",
                 (_time(now), _time(stale_before), limit))


@dataclass(frozen=True, kw_only=True)
class OutboxFilter:
    """What 发件箱 can be narrowed by: the delivery's state, its recipient (a person's key, such
    as leader-L1 or unit-T01-P01), its kind (the run that sent it) and the week it belongs to
    (a weekly run of that week, or a daily one on one of its days)."""

    state: str | None = None
    recipient: str | None = None
    kind: str | None = None
    week: Week | None = None

    def where(self) -> tuple[str, dict]:
        clauses, params = [], {}
        for name in ("state", "kind"):
            if getattr(self, name):
                clauses.append(f"d.{name} = :{name}")
                params[name] = getattr(self, name)
        if self.recipient:
            clauses.append("d.recipient_key = :recipient")
            params["recipient"] = self.recipient
        if self.week:
            clauses.append("(d.period = :week OR d.period BETWEEN :monday AND :sunday)")
            params |= {"week": str(self.week), "monday": self.week.first_day.isoformat(),
                       "sunday": self.week.last_day.isoformat()}
        return " AND ".join(clauses) or "1", params


def outbox(db: Database, chosen: OutboxFilter | None = None, limit: int = 100,
           offset: int = 0) -> list[dict]:
    """发件箱: the newest deliveries first, narrowed by `chosen`, each with the log position it
    was built from (`built_from`: its run's, or for a notice the event it tells of, just
    before it was queued)."""
    where, params = (chosen or OutboxFilter()).where()
    return _rows(db, f"SELECT d.*, coalesce(r.position, d.seq) AS built_from FROM deliveries d "
                 "LEFT JOIN runs r ON r.kind = d.kind AND r.period = d.period "
                 f"WHERE {where} ORDER BY d.seq DESC LIMIT :limit OFFSET :offset",
                 params | {"limit": limit, "offset": offset})


def outbox_recipients(db: Database) -> list[dict]:
    """Everyone 发件箱 holds a message for: key, name and role, by name."""
    return _rows(db, "SELECT recipient_key AS key, max(name) AS name, max(role) AS role "
                 "FROM deliveries GROUP BY recipient_key ORDER BY name, key")


def told_about(db: Database, number: str, at: datetime | None = None) -> list[dict]:
    """Every bulletin that named a ticket and every message that did, oldest first: the part
    it was named in; a bulletin's kind, period, 期 and the time it was signed (issued, before
    #15); a message's recipient, kind, subject, state and delivery (as of `at`, in a view of
    the past). A bulletin's digests held until it is signed tell of nothing yet."""
    return _rows(db, "SELECT t.n, t.part, t.run_id, r.kind AS run_kind, r.period AS run_period, "
                 "r.number AS issue, coalesce(r.signed_at, r.issued_at) AS issued_at, "
                 "t.delivery_id, d.kind, d.period, d.name, d.role, d.recipient_key, d.subject, "
                 "d.queued_at, "
                 "CASE WHEN d.delivered_at <= :at THEN d.delivered_at END AS delivered_at, "
                 "CASE WHEN d.delivered_at <= :at OR d.state != 'delivered' THEN d.state "
                 "ELSE 'queued' END AS state "
                 "FROM told t LEFT JOIN runs r ON r.id = t.run_id "
                 "LEFT JOIN deliveries d ON d.id = t.delivery_id "
                 "WHERE t.number = :number AND coalesce(d.state, '') != 'unsigned' ORDER BY t.n",
                 {"number": number, "at": _time(at) if at else LATEST})


def outbox_counts(db: Database) -> dict[str, int]:
    counts = dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
    return {state: counts.get(state, 0) for state in STATES}


RUN_LISTED = ("id, kind, period, number, issued_at, by_login, position, draft, "
              "document_number, signed_at, signed_by")


def runs_of(db: Database, kind: str, *, drafts: bool = True, limit: int = -1) -> list[dict]:
    """The runs of one kind, newest first (the bulletin archive), without their content,
    with the name of the account that signed each; without a bulletin's unsigned draft
    unless `drafts`; the newest `limit` only, when given."""
    return _rows(db, f"SELECT {', '.join(f'r.{c.strip()}' for c in RUN_LISTED.split(','))}, "
                 "a.name AS signer_name FROM runs r LEFT JOIN accounts a ON a.login = r.signed_by "
                 f"WHERE r.kind = ? {'' if drafts else 'AND NOT r.draft '}ORDER BY r.period DESC "
                 "LIMIT ?", (kind, limit))


def drafts(db: Database) -> list[dict]:
    """The bulletins waiting to be signed, oldest first."""
    return _rows(db, f"SELECT {RUN_LISTED} FROM runs WHERE kind = 'bulletin' AND draft "
                 "ORDER BY period")


def run_of(db: Database, kind: str, period: str) -> dict | None:
    """One run with its content (and a bulletin's document) decoded, or None."""
    rows = _rows(db, "SELECT * FROM runs WHERE kind = ? AND period = ?", (kind, period))
    if not rows:
        return None
    row = rows[0]
    return {**row, "content": json.loads(row["content"]),
            "document": json.loads(row["document"]) if row["document"] else None}


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
    of tickets they see (a unit reads its own; the office the whole 通报), each list with how
    many the county's names (`county`)."""
    lists = ("overdue", "due_next_week")
    counted = {part: len(content[part]["items"]) + content[part]["more"] for part in lists}
    if sight.everything:
        return content | {part: content[part] | {"county": counted[part]} for part in lists}
    numbers = [i["number"] for part in lists for i in content[part]["items"]]
    visible = visible_numbers(db, numbers, sight)
    return content | {part: {"items": [i for i in content[part]["items"]
                                       if i["number"] in visible], "more": 0,
                             "county": counted[part]}
                      for part in lists}
