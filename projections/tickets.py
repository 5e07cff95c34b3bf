"""The `tickets` read model: one row per ticket with what lists, filters and ledgers need,
plus who answers for it (`ticket_units`, `ticket_leaders`) for filtering by unit or leader."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlite_utils import Database

from projections.base import Projection, when

COLUMNS = {
    "id": str, "number": str, "title": str, "description": str, "town_id": str, "unit_id": str,
    "category": str, "indicator_id": str, "severity": str, "source": str, "state": str,
    "lead_unit_id": str, "co_unit_ids": str, "person_id": str, "leader_ids": str,
    "deadline": str, "pending_deadline": str, "measures": str,
    "opened_at": str, "opened_by": str, "assigned_at": str, "rectified_at": str,
    "verified_at": str, "closed_at": str, "cancelled_at": str, "reopened_at": str,
    "last_checked_at": str, "returns": int, "reopens": int, "rectifications": int,
    "evidence_before": str, "evidence_after": str, "version": int,
}


class TicketsProjection(Projection):
    name = "tickets"
    topics = ("domain.ticket:Ticket.",)
    tables = ("tickets", "ticket_units", "ticket_leaders", "tickets_fts")

    def create_tables(self, db: Database) -> None:
        db["tickets"].create(COLUMNS, pk="id", not_null={"number", "title", "state"})
        db["tickets"].create_index(["number"], unique=True)
        for columns in (["state", "deadline"], ["town_id"], ["opened_at"], ["indicator_id"]):
            db["tickets"].create_index(columns)
        db["ticket_units"].create({"ticket_id": str, "unit_id": str, "lead": int},
                                  pk=("ticket_id", "unit_id"))
        db["ticket_units"].create_index(["unit_id"])
        db["ticket_leaders"].create({"ticket_id": str, "leader_id": str},
                                    pk=("ticket_id", "leader_id"))
        db["ticket_leaders"].create_index(["leader_id"])
        # Trigram full-text search finds 音乐教室 inside a longer Chinese sentence.
        db.execute("CREATE VIRTUAL TABLE tickets_fts USING fts5(number, title, description, "
                   "measures, tokenize='trigram')")

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _set(conn: sqlite3.Connection, event: Any, **values: Any) -> None:
        values["version"] = event.originator_version
        assignments = ", ".join(f"{column} = ?" for column in values)
        conn.execute(f"UPDATE tickets SET {assignments} WHERE id = ?",
                     (*values.values(), event.originator_id.hex))

    @staticmethod
    def _responsible(conn: sqlite3.Connection, event: Any) -> None:
        ticket = event.originator_id.hex
        conn.execute("DELETE FROM ticket_units WHERE ticket_id = ?", (ticket,))
        conn.executemany("INSERT INTO ticket_units VALUES (?, ?, ?)",
                         [(ticket, event.lead_unit_id, 1)]
                         + [(ticket, unit, 0) for unit in event.co_unit_ids])
        TicketsProjection._leaders(conn, ticket, event.leader_ids)

    @staticmethod
    def _leaders(conn: sqlite3.Connection, ticket: str, leader_ids: list[str]) -> None:
        conn.execute("DELETE FROM ticket_leaders WHERE ticket_id = ?", (ticket,))
        conn.executemany("INSERT INTO ticket_leaders VALUES (?, ?)",
                         [(ticket, leader) for leader in dict.fromkeys(leader_ids)])

    # -- handlers ----------------------------------------------------------------------------

    def on_Opened(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        conn.execute(
            "INSERT INTO tickets (id, number, title, description, town_id, unit_id, category, "
            "indicator_id, severity, source, state, co_unit_ids, leader_ids, deadline, "
            "opened_at, opened_by, returns, reopens, rectifications, evidence_before, "
            "evidence_after, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'opened', '[]', ?, ?, "
            "?, ?, 0, 0, 0, ?, '[]', ?)",
            (e.originator_id.hex, e.number, e.title, e.description, e.town_id, e.unit_id,
             e.category, e.indicator_id, e.severity, e.source, json.dumps(e.leader_ids),
             e.deadline.isoformat() if e.deadline else None, when(e), e.by["login"],
             json.dumps(e.evidence, ensure_ascii=False), e.originator_version))
        conn.execute("INSERT INTO tickets_fts (rowid, number, title, description, measures) "
                     "VALUES (last_insert_rowid(), ?, ?, ?, '')",
                     (e.number, e.title, e.description))
        self._leaders(conn, e.originator_id.hex, e.leader_ids)

    def on_Assigned(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        self._set(conn, e, state="assigned", assigned_at=when(e), **self._who(e))
        self._responsible(conn, e)

    def on_Reassigned(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        self._set(conn, e, **self._who(e))
        self._responsible(conn, e)

    @staticmethod
    def _who(e: Any) -> dict:
        return {"lead_unit_id": e.lead_unit_id, "co_unit_ids": json.dumps(e.co_unit_ids),
                "person_id": e.person_id, "leader_ids": json.dumps(e.leader_ids),
                "deadline": e.deadline.isoformat()}

    def on_ExtensionRequested(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        self._set(conn, e, pending_deadline=e.new_deadline.isoformat())

    def on_DeadlineExtended(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        self._set(conn, e, deadline=e.new_deadline.isoformat(), pending_deadline=None)

    def on_ExtensionRefused(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        self._set(conn, e, pending_deadline=None)

    def on_Rectified(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        conn.execute(
            "UPDATE tickets SET state = 'rectified', rectified_at = ?, measures = ?, "
            "evidence_after = ?, pending_deadline = NULL, rectifications = rectifications + 1, "
            "version = ? WHERE id = ?",
            (when(e), e.measures, json.dumps(e.evidence, ensure_ascii=False),
             e.originator_version, e.originator_id.hex))
        conn.execute("UPDATE tickets_fts SET measures = ? WHERE rowid = "
                     "(SELECT rowid FROM tickets WHERE id = ?)", (e.measures, e.originator_id.hex))

    def on_ReInspected(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        if e.passed:
            self._set(conn, e, state="verified", verified_at=when(e))
        else:
            conn.execute("UPDATE tickets SET state = 'assigned', returns = returns + 1, "
                         "version = ? WHERE id = ?", (e.originator_version, e.originator_id.hex))

    def on_Closed(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        self._set(conn, e, state="closed", closed_at=when(e))

    def on_Reopened(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        conn.execute("UPDATE tickets SET state = 'assigned', reopens = reopens + 1, "
                     "reopened_at = ?, deadline = ?, version = ? WHERE id = ?",
                     (when(e), e.deadline.isoformat(), e.originator_version,
                      e.originator_id.hex))

    def on_Cancelled(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        self._set(conn, e, state="cancelled", cancelled_at=when(e))

    def on_Commented(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        self._set(conn, e)

    def on_InstructionGiven(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        self._set(conn, e)

    def on_ProgressChecked(self, conn: sqlite3.Connection, n: int, e: Any) -> None:
        self._set(conn, e, last_checked_at=when(e))
