"""The `dealings` read model: how a ticket is being dealt with between the office, the units and
the leaders (#11): which responsible units have 签收 the current assignment, each 催办, and each
领导批示 with its 落实情况. The home pages' queues and the ticket page read it
(projections/queues.py).

Acknowledgements follow the ticket (domain/ticket.py): a new assignment or a reopening starts
them afresh, and a reassignment keeps those of the units still responsible. `dealing` keeps per
ticket what the office's queues ask of many tickets at once, so that they read only the tickets
waiting (partial indexes): how many responsible units have not yet signed while it is with them
(`unsigned`), and whether an extension is waiting for an answer (`asking`).

A batch is applied in memory: the tickets it touches are read once, changed event by event,
and written back at the end. `dealing_history` keeps every version of a ticket's dealing with
its acknowledgements (projections/history.py), for the ticket as it stood at a past moment.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sqlite_utils import Database

from domain.ticket import EVENT_LABELS
from projections.base import Item, Projection, ProjectionError
from projections.history import SPAN, write_versions


@dataclass(slots=True)
class _Dealing:
    units: list[str] = field(default_factory=list)     # lead and co-responsible units
    assigned: bool = False                               # with the units (整改中)
    assigned_at: str | None = None
    asking: bool = False                                 # an extension waits for an answer
    acknowledged: dict[str, str] = field(default_factory=dict)   # unit -> when it signed

    @property
    def unsigned(self) -> int:
        if not self.assigned:
            return 0
        if not self.acknowledged:
            return len(self.units)
        return sum(u not in self.acknowledged for u in self.units)


class DealingsProjection(Projection):
    name = "dealings"
    version = 3     # 2: `dealing`, the office's waiting tickets; 3: dealing_history
    topics = ("domain.ticket:Ticket.",)
    tables = ("dealing", "acknowledgements", "chases", "instructions", "instruction_replies",
              "dealing_history")
    query_indexes = {
        "dealing_unsigned": "CREATE INDEX IF NOT EXISTS dealing_unsigned ON dealing "
                            "(assigned_at) WHERE unsigned > 0",
        "dealing_asking": "CREATE INDEX IF NOT EXISTS dealing_asking ON dealing (ticket_id) "
                          "WHERE asking",
        "chases_ticket": "CREATE INDEX IF NOT EXISTS chases_ticket ON chases (ticket_id)",
        "instructions_by": "CREATE INDEX IF NOT EXISTS instructions_by "
                           "ON instructions (by_login, at)",
        "instruction_replies_ticket": "CREATE INDEX IF NOT EXISTS instruction_replies_ticket "
                                      "ON instruction_replies (ticket_id, instruction)",
    }

    def create_tables(self, db: Database) -> None:
        db["dealing"].create({"ticket_id": str, "units": str, "assigned": int,
                              "assigned_at": str, "unsigned": int, "asking": int},
                             pk="ticket_id")
        kinds = (str, str, int, str, int, int, str)
        db["dealing_history"].create({**dict(zip(HISTORY, kinds, strict=True)), **SPAN},
                                     pk=("ticket_id", "valid_from"))
        db["acknowledgements"].create({"ticket_id": str, "unit_id": str, "at": str},
                                      pk=("ticket_id", "unit_id"))
        db["chases"].create({"n": int, "ticket_id": str, "at": str, "by_name": str,
                             "unit_ids": str, "note": str}, pk="n")
        db["instructions"].create({"ticket_id": str, "n": int, "text": str, "by_login": str,
                                   "by_name": str, "at": str, "notification": int},
                                  pk=("ticket_id", "n"))
        db["instruction_replies"].create(
            {"seq": int, "ticket_id": str, "instruction": int, "text": str, "by_login": str,
             "by_name": str, "role": str, "unit_id": str, "at": str}, pk="seq")
        self.create_query_indexes(db)

    def apply(self, conn: sqlite3.Connection, items: Sequence[Item]) -> None:
        dealings = _load(conn, {i.aggregate for i in items if i.name in CHANGING})
        changed: dict[str, list] = {}      # ticket -> its latest version
        opened: set[str] = set()
        versions: list[list] = []
        for item in items:
            if item.name not in EVENT_LABELS:
                raise self.unknown(item)
            if item.name == "Opened":
                dealings[item.aggregate] = _Dealing()
                opened.add(item.aggregate)
            elif item.name in CHANGING:
                d = dealings.get(item.aggregate)
                if d is None:
                    raise ProjectionError(self.name, item.n, "事件所属的问题尚未登记")
                _follow(d, item)
            else:
                _record(conn, item)
                continue
            version = changed[item.aggregate] = _values(item.aggregate, dealings[item.aggregate])
            version.append(item.n)
            versions.append(version)
        _write(conn, {t: dealings[t] for t in changed}, changed)
        write_versions(conn, "dealing_history", HISTORY, versions, opened)


# The events that change a ticket's dealing; the others leave it as it is.
CHANGING = frozenset({"Assigned", "Reopened", "Reassigned", "Acknowledged", "ReInspected",
                      "Rectified", "Cancelled", "ExtensionRequested", "DeadlineExtended",
                      "ExtensionRefused"})


def _follow(d: _Dealing, item: Item) -> None:
    """One event's change to the ticket's dealing."""
    e = item.event
    match item.name:
        case "Assigned" | "Reopened":
            if item.name == "Assigned":
                d.units = [e.lead_unit_id, *e.co_unit_ids]
            d.assigned, d.assigned_at, d.acknowledged = True, item.at, {}
        case "Reassigned":
            d.units = [e.lead_unit_id, *e.co_unit_ids]
            d.acknowledged = {u: at for u, at in d.acknowledged.items() if u in d.units}
        case "Acknowledged":
            d.acknowledged[e.unit_id] = item.at
        case "ReInspected" if not e.passed:
            d.assigned = True
        case "Rectified" | "Cancelled":
            d.assigned = d.asking = False
        case "ExtensionRequested":
            d.asking = True
        case "DeadlineExtended" | "ExtensionRefused":
            d.asking = False


def _record(conn: sqlite3.Connection, item: Item) -> None:
    """A 催办, a 批示 or a reply, as a row of its own."""
    e = item.event
    match item.name:
        case "Chased":
            conn.execute("INSERT INTO chases VALUES (?, ?, ?, ?, ?, ?)",
                         (item.n, item.aggregate, item.at, e.by["name"], json.dumps(e.unit_ids),
                          e.note))
        case "InstructionGiven":
            conn.execute("INSERT INTO instructions SELECT ?, coalesce(max(n), 0) + 1, ?, ?, ?, "
                         "?, ? FROM instructions WHERE ticket_id = ?",
                         (item.aggregate, e.text, e.by["login"], e.by["name"], item.at, item.n,
                          item.aggregate))
        case "InstructionReplied":
            conn.execute("INSERT INTO instruction_replies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (item.n, item.aggregate, e.instruction, e.text, e.by["login"],
                          e.by["name"], e.by["role"], e.by.get("unit_id"), item.at))


HISTORY = ["ticket_id", "units", "assigned", "assigned_at", "unsigned", "asking", "acknowledged"]


def _values(ticket_id: str, d: _Dealing) -> list:
    return [ticket_id, _units_json(tuple(d.units)), int(d.assigned), d.assigned_at, d.unsigned,
            int(d.asking), json.dumps(d.acknowledged) if d.acknowledged else "{}"]


@lru_cache(maxsize=4096)
def _units_json(units: tuple[str, ...]) -> str:
    """A list of units as stored JSON: the same few lists come again and again."""
    return json.dumps(list(units))


def _load(conn: sqlite3.Connection, ids: set[str]) -> dict[str, _Dealing]:
    if not ids:
        return {}
    chosen = json.dumps(sorted(ids))
    found = {t: _Dealing(json.loads(units), bool(assigned), at, bool(asking))
             for t, units, assigned, at, asking in conn.execute(
                 "SELECT ticket_id, units, assigned, assigned_at, asking FROM dealing "
                 "WHERE ticket_id IN (SELECT value FROM json_each(?))", (chosen,))}
    for t, unit, at in conn.execute("SELECT ticket_id, unit_id, at FROM acknowledgements "
                                    "WHERE ticket_id IN (SELECT value FROM json_each(?))",
                                    (chosen,)):
        found[t].acknowledged[unit] = at
    return found


def _write(conn: sqlite3.Connection, dealings: dict[str, _Dealing],
           latest: dict[str, list]) -> None:
    """Each ticket's dealing as it now stands (the first six values of its latest version)
    and its acknowledgements."""
    if not dealings:
        return
    conn.executemany("INSERT OR REPLACE INTO dealing VALUES (?, ?, ?, ?, ?, ?)",
                     [latest[t][:6] for t in dealings])
    conn.execute("DELETE FROM acknowledgements WHERE ticket_id IN "
                 "(SELECT value FROM json_each(?))", (json.dumps(sorted(dealings)),))
    conn.executemany("INSERT INTO acknowledgements VALUES (?, ?, ?)",
                     [(t, u, at) for t, d in dealings.items() for u, at in d.acknowledged.items()])
