"""The `tickets` read model: one row per ticket with what lists, filters and ledgers need, who
answers for it (`ticket_units`, `ticket_leaders`) for filtering by unit or leader, and a trigram
full-text index over its words (`tickets_fts`).

`ticket_history` keeps every version of every row, each valid from the notification that made
it up to the one that made the next (`valid_to`, `OPEN` while it is the latest): the log
position of any instant picks exactly the rows the system held then (projections/asof.py).

A batch is applied in memory: the rows it touches are read once, changed event by event, and
written back with one upsert.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from sqlite_utils import Database

from domain.clock import beijing_date
from domain.lights import days_overdue
from projections.base import Item, Projection, ProjectionError
from projections.history import SPAN, write_versions

COLUMNS = {
    "id": str, "seq": int, "number": str, "title": str, "description": str, "town_id": str,
    "unit_id": str, "category": str, "indicator_id": str, "severity": str, "source": str,
    "state": str, "lead_unit_id": str, "co_unit_ids": str, "person_id": str, "leader_ids": str,
    "deadline": str, "pending_deadline": str, "measures": str,
    "opened_at": str, "opened_by": str, "assigned_at": str, "rectified_at": str,
    "verified_at": str, "closed_at": str, "cancelled_at": str, "reopened_at": str,
    "last_checked_at": str, "returns": int, "reopens": int, "rectifications": int,
    "extensions": int, "overdue_incurred": int,
    "evidence_before": str, "evidence_after": str, "version": int,
}
NAMES = list(COLUMNS)
UPSERT = (f"INSERT INTO tickets ({', '.join(NAMES)}) VALUES ({', '.join('?' * len(NAMES))}) "
          "ON CONFLICT (id) DO UPDATE SET "
          + ", ".join(f"{c} = excluded.{c}" for c in NAMES if c != "id"))


_text = json.JSONEncoder(ensure_ascii=False).encode     # json.dumps(..., ensure_ascii=False)


def _json(values: list, dumps: Callable[[Any], str] = json.dumps) -> str:
    """A list as stored JSON; most are empty, which needs no encoder."""
    return "[]" if values == [] else dumps(values)


@lru_cache(maxsize=4096)
def _ids_json(ids: tuple[str, ...]) -> str:
    return json.dumps(list(ids))


def _ids(ids: list[str]) -> str:
    """A list of unit or person ids as stored JSON: the same few lists come again and again."""
    return "[]" if ids == [] else _ids_json(tuple(ids))


@lru_cache(maxsize=4096)
def _listed(text: str) -> tuple:
    """Stored JSON of ids, read back."""
    return tuple(json.loads(text))


# Each handler changes a ticket's row (a dict in NAMES order) for one event.
def _opened(row: dict, e: Any, item: Item) -> None:
    row["id"] = item.aggregate
    row["seq"] = item.n
    row["number"] = e.number
    row["title"] = e.title
    row["description"] = e.description
    row["town_id"] = e.town_id
    row["unit_id"] = e.unit_id
    row["category"] = e.category
    row["indicator_id"] = e.indicator_id
    row["severity"] = e.severity
    row["source"] = e.source
    row["state"] = "opened"
    row["co_unit_ids"] = "[]"
    row["leader_ids"] = _ids(e.leader_ids)
    row["deadline"] = e.deadline.isoformat() if e.deadline else None
    row["opened_at"] = item.at
    row["opened_by"] = e.by["login"]
    row["returns"] = row["reopens"] = row["rectifications"] = row["extensions"] = 0
    row["overdue_incurred"] = 0
    row["evidence_before"] = _json(e.evidence, _text)
    row["evidence_after"] = "[]"


def _responsible(row: dict, e: Any, item: Item) -> None:
    row["lead_unit_id"] = e.lead_unit_id
    row["co_unit_ids"] = _ids(e.co_unit_ids)
    row["person_id"] = e.person_id
    row["leader_ids"] = _ids(e.leader_ids)
    row["deadline"] = e.deadline.isoformat()


def _assigned(row: dict, e: Any, item: Item) -> None:
    _responsible(row, e, item)
    row["state"] = "assigned"
    row["assigned_at"] = item.at


def _rectified(row: dict, e: Any, item: Item) -> None:
    row["state"] = "rectified"
    row["rectified_at"] = item.at
    row["measures"] = e.measures
    row["evidence_after"] = _json(e.evidence, _text)
    row["pending_deadline"] = None
    row["rectifications"] += 1


def _reinspected(row: dict, e: Any, item: Item) -> None:
    if e.passed:
        row["state"] = "verified"
        row["verified_at"] = item.at
    else:   # the failed fix's photos are no longer current
        row["state"] = "assigned"
        row["returns"] += 1
        row["evidence_after"] = "[]"


def _extended(row: dict, e: Any, item: Item) -> None:
    """The new deadline sets the light; the days already overdue stay on the record (#11).
    Events from before the aggregate recorded them are worked out the same way."""
    overdue = getattr(e, "overdue_days", None)
    if overdue is None:
        overdue = days_overdue(row["state"], date.fromisoformat(row["deadline"]),
                               beijing_date(e.timestamp))
    row.update(deadline=e.new_deadline.isoformat(), pending_deadline=None,
               extensions=row["extensions"] + 1,
               overdue_incurred=row["overdue_incurred"] + overdue)


def _reopened(row: dict, e: Any, item: Item) -> None:
    row.update(state="assigned", reopens=row["reopens"] + 1, reopened_at=item.at,
               deadline=e.deadline.isoformat(), evidence_after="[]")


def _closed(row: dict, e: Any, item: Item) -> None:
    row["state"] = "closed"
    row["closed_at"] = item.at


def _checked(row: dict, e: Any, item: Item) -> None:
    row["last_checked_at"] = item.at


def _unchanged(row: dict, e: Any, item: Item) -> None:
    """An event that changes nothing the row holds (its version aside)."""


HANDLERS: dict[str, Callable[[dict, Any, Item], None]] = {
    "Opened": _opened,
    "Assigned": _assigned,
    "Reassigned": _responsible,
    "ExtensionRequested": lambda row, e, item: row.update(
        pending_deadline=e.new_deadline.isoformat()),
    "DeadlineExtended": _extended,
    "ExtensionRefused": lambda row, e, item: row.update(pending_deadline=None),
    "Rectified": _rectified,
    "ReInspected": _reinspected,
    "Closed": _closed,
    "Reopened": _reopened,
    "Cancelled": lambda row, e, item: row.update(state="cancelled", cancelled_at=item.at),
    "Commented": _unchanged,
    "InstructionGiven": _unchanged,
    "ProgressChecked": _checked,
    "Acknowledged": _unchanged,
    "Chased": _unchanged,
    "RecheckHeld": _unchanged,
    "InstructionReplied": _unchanged,
    "EvidenceAdded": lambda row, e, item: row.update(evidence_before=_text(
        [*json.loads(row["evidence_before"]), *e.evidence])),
}
RESPONSIBLE = frozenset({"Opened", "Assigned", "Reassigned"})
WORDED = frozenset({"Opened", "Rectified"})


class TicketsProjection(Projection):
    name = "tickets"
    version = 7     # 6: ticket_history; 7: indexes for the list's orders, filters and search
    topics = ("domain.ticket:Ticket.",)
    tables = ("tickets", "ticket_units", "ticket_leaders", "tickets_fts", "ticket_history")
    query_indexes = {
        "tickets_number": "CREATE UNIQUE INDEX IF NOT EXISTS tickets_number ON tickets (number)",
        **{f"tickets_{'_'.join(c)}": f"CREATE INDEX IF NOT EXISTS tickets_{'_'.join(c)} "
           f"ON tickets ({', '.join(c)})" for c in (
               ("state", "deadline"), ("town_id", "state", "deadline", "number"),
               ("town_id", "unit_id", "number"), ("opened_at",), ("indicator_id",),
               ("deadline", "number"), ("unit_id",), ("severity",), ("seq", "number"))},
        "ticket_units_unit": "CREATE INDEX IF NOT EXISTS ticket_units_unit "
                             "ON ticket_units (unit_id)",
        "ticket_leaders_leader": "CREATE INDEX IF NOT EXISTS ticket_leaders_leader "
                                 "ON ticket_leaders (leader_id)",
        # The same questions as of a past position: each index above with the version's
        # span last, so that rows not alive then are passed over in the index.
        **{f"ticket_history_{'_'.join(c)}": f"CREATE INDEX IF NOT EXISTS ticket_history_"
           f"{'_'.join(c)} ON ticket_history ({', '.join(c)}, valid_to, valid_from)" for c in (
               ("number",), ("state", "deadline"), ("town_id", "state", "deadline", "number"),
               ("town_id", "unit_id", "number"), ("opened_at",), ("indicator_id",))},
        "ticket_history_span": "CREATE INDEX IF NOT EXISTS ticket_history_span "
                               "ON ticket_history (valid_to, valid_from)",
    }

    def create_tables(self, db: Database) -> None:
        db["tickets"].create(COLUMNS, pk="id", not_null={"number", "title", "state"})
        db["ticket_history"].create({**COLUMNS, **SPAN},
                                    pk=("id", "valid_from"))
        db["ticket_units"].create({"ticket_id": str, "unit_id": str, "lead": int},
                                  pk=("ticket_id", "unit_id"))
        db["ticket_leaders"].create({"ticket_id": str, "leader_id": str},
                                    pk=("ticket_id", "leader_id"))
        self.create_query_indexes(db)
        # Trigram full-text search finds 音乐教室 inside a longer Chinese sentence; its rowid
        # is the ticket's `seq` (the notification that opened it).
        db.execute("CREATE VIRTUAL TABLE tickets_fts USING fts5(number, title, description, "
                   "measures, tokenize='trigram')")

    def apply(self, conn: sqlite3.Connection, items: Sequence[Item]) -> None:
        rows = self._load(conn, {i.aggregate for i in items if i.name != "Opened"})
        responsibility: set[str] = set()
        texts: set[str] = set()
        opened: set[str] = set()
        versions: list[list] = []
        for item in items:
            name = item.name
            handler = HANDLERS.get(name)
            if handler is None:
                raise self.unknown(item)
            row = rows.get(item.aggregate)
            if row is None:
                if name != "Opened":
                    raise ProjectionError(self.name, item.n, "事件所属的问题尚未登记")
                row = rows[item.aggregate] = dict.fromkeys(NAMES)
                opened.add(item.aggregate)
            handler(row, item.event, item)
            row["version"] = item.event.originator_version
            versions.append([*row.values(), item.n])
            if name in RESPONSIBLE:
                responsibility.add(item.aggregate)
            if name in WORDED:
                texts.add(item.aggregate)
        conn.executemany(UPSERT, [tuple(row.values()) for row in rows.values()])
        write_versions(conn, "ticket_history", NAMES, versions, opened)
        self._write_responsibility(conn, [rows[t] for t in responsibility])
        if not self.bulk:     # a long catch-up indexes the words once, at its end
            self._write_texts(conn, [rows[t] for t in texts])

    def begin_bulk(self, db: Database) -> None:
        super().begin_bulk(db)
        db.execute("DELETE FROM tickets_fts")

    def end_bulk(self, db: Database) -> None:
        db.execute("DELETE FROM tickets_fts")
        db.execute("INSERT INTO tickets_fts (rowid, number, title, description, measures) "
                   "SELECT seq, number, title, description, coalesce(measures, '') FROM tickets")
        super().end_bulk(db)

    @staticmethod
    def _load(conn: sqlite3.Connection, ids: set[str]) -> dict[str, dict]:
        if not ids:
            return {}
        cursor = conn.execute(f"SELECT {', '.join(NAMES)} FROM tickets WHERE id IN "
                              "(SELECT value FROM json_each(?))", (json.dumps(list(ids)),))
        return {row[0]: dict(zip(NAMES, row, strict=True)) for row in cursor}

    @staticmethod
    def _write_responsibility(conn: sqlite3.Connection, rows: list[dict]) -> None:
        ids = json.dumps([r["id"] for r in rows])
        conn.execute("DELETE FROM ticket_units WHERE ticket_id IN (SELECT value FROM json_each(?))",
                     (ids,))
        conn.execute("DELETE FROM ticket_leaders WHERE ticket_id IN "
                     "(SELECT value FROM json_each(?))", (ids,))
        units, leaders = [], []
        for r in rows:
            if r["lead_unit_id"]:
                units.append((r["id"], r["lead_unit_id"], 1))
                units += [(r["id"], u, 0) for u in _listed(r["co_unit_ids"])]
            leaders += [(r["id"], p) for p in dict.fromkeys(_listed(r["leader_ids"]))]
        conn.executemany("INSERT INTO ticket_units VALUES (?, ?, ?)", units)
        conn.executemany("INSERT INTO ticket_leaders VALUES (?, ?)", leaders)

    @staticmethod
    def _write_texts(conn: sqlite3.Connection, rows: list[dict]) -> None:
        conn.executemany("DELETE FROM tickets_fts WHERE rowid = ?", [(r["seq"],) for r in rows])
        conn.executemany(
            "INSERT INTO tickets_fts (rowid, number, title, description, measures) "
            "VALUES (?, ?, ?, ?, ?)",
            [(r["seq"], r["number"], r["title"], r["description"], r["measures"] or "")
             for r in rows])
