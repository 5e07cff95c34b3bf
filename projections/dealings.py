"""The `dealings` read model: how a ticket is being dealt with between the office, the units and
the leaders (#11): which responsible units have 签收 the current assignment, each 催办, and each
领导批示 with its 落实情况. The home pages' queues and the ticket page read it
(projections/queues.py).

Acknowledgements follow the ticket (domain/ticket.py): a new assignment or a reopening starts
them afresh, and a reassignment keeps those of the units still responsible.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from sqlite_utils import Database

from domain.ticket import EVENT_LABELS
from projections.base import Item, Projection


class DealingsProjection(Projection):
    name = "dealings"
    topics = ("domain.ticket:Ticket.",)
    tables = ("acknowledgements", "chases", "instructions", "instruction_replies")
    query_indexes = {
        "chases_ticket": "CREATE INDEX IF NOT EXISTS chases_ticket ON chases (ticket_id)",
        "instructions_by": "CREATE INDEX IF NOT EXISTS instructions_by "
                           "ON instructions (by_login, at)",
        "instruction_replies_ticket": "CREATE INDEX IF NOT EXISTS instruction_replies_ticket "
                                      "ON instruction_replies (ticket_id, instruction)",
    }

    def create_tables(self, db: Database) -> None:
        db["acknowledgements"].create({"ticket_id": str, "unit_id": str, "at": str},
                                      pk=("ticket_id", "unit_id"))
        db["chases"].create({"n": int, "ticket_id": str, "at": str, "by_name": str,
                             "unit_ids": str, "note": str}, pk="n")
        db["instructions"].create({"ticket_id": str, "n": int, "text": str, "by_login": str,
                                   "by_name": str, "at": str}, pk=("ticket_id", "n"))
        db["instruction_replies"].create(
            {"seq": int, "ticket_id": str, "instruction": int, "text": str, "by_login": str,
             "by_name": str, "role": str, "unit_id": str, "at": str}, pk="seq")
        self.create_query_indexes(db)

    def apply(self, conn: sqlite3.Connection, items: Sequence[Item]) -> None:
        for item in items:
            if item.name not in EVENT_LABELS:
                raise self.unknown(item)
            handler = getattr(self, f"_{item.name}", None)
            if handler is not None:
                handler(conn, item, item.event)

    @staticmethod
    def _Assigned(conn: sqlite3.Connection, item: Item, e) -> None:
        conn.execute("DELETE FROM acknowledgements WHERE ticket_id = ?", (item.aggregate,))

    _Reopened = _Assigned

    @staticmethod
    def _Reassigned(conn: sqlite3.Connection, item: Item, e) -> None:
        still = json.dumps([e.lead_unit_id, *e.co_unit_ids])
        conn.execute("DELETE FROM acknowledgements WHERE ticket_id = ? AND unit_id NOT IN "
                     "(SELECT value FROM json_each(?))", (item.aggregate, still))

    @staticmethod
    def _Acknowledged(conn: sqlite3.Connection, item: Item, e) -> None:
        conn.execute("INSERT OR REPLACE INTO acknowledgements VALUES (?, ?, ?)",
                     (item.aggregate, e.unit_id, item.at))

    @staticmethod
    def _Chased(conn: sqlite3.Connection, item: Item, e) -> None:
        conn.execute("INSERT INTO chases VALUES (?, ?, ?, ?, ?, ?)",
                     (item.n, item.aggregate, item.at, e.by["name"], json.dumps(e.unit_ids),
                      e.note))

    @staticmethod
    def _InstructionGiven(conn: sqlite3.Connection, item: Item, e) -> None:
        conn.execute("INSERT INTO instructions SELECT ?, coalesce(max(n), 0) + 1, ?, ?, ?, ? "
                     "FROM instructions WHERE ticket_id = ?",
                     (item.aggregate, e.text, e.by["login"], e.by["name"], item.at,
                      item.aggregate))

    @staticmethod
    def _InstructionReplied(conn: sqlite3.Connection, item: Item, e) -> None:
        by = e.by
        conn.execute("INSERT INTO instruction_replies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (item.n, item.aggregate, e.instruction, e.text, by["login"], by["name"],
                      by["role"], by.get("unit_id"), item.at))
