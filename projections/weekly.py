"""The `weekly` read models: counts per ISO week × town × unit, which tickets were checked in a
week, and each ticket's state history (for "overdue at week end" and past check lists).

A ticket is overdue at a week's end (Monday 00:00 Beijing) when it is not yet rectified and its
deadline is before that Monday. Intervals of a ticket's life are written out week by week when
they end; the interval still open is counted at query time (projections/cycle.py).
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from domain.clock import BEIJING, beijing, iso_week
from domain.ticket import EVENT_LABELS
from projections.base import Projection, ProjectionError, when

COUNTS = ("found", "rectified", "closed", "reopened", "returned", "cancelled", "overdue")
UNRECTIFIED = ("opened", "assigned")
STATE_AFTER = {"Opened": "opened", "Assigned": "assigned", "Rectified": "rectified",
               "Closed": "closed", "Reopened": "assigned", "Cancelled": "cancelled"}
COUNTED = {"Opened": "found", "Rectified": "rectified", "Closed": "closed",
           "Reopened": "reopened", "Cancelled": "cancelled"}


def week_ends(start: datetime, end: datetime) -> list[datetime]:
    """The Mondays 00:00 Beijing in [start, end): each one ends the ISO week before it."""
    first = beijing(start).date()
    monday = first + timedelta(days=(7 - first.weekday()) % 7)
    moment = datetime(monday.year, monday.month, monday.day, tzinfo=BEIJING)
    if moment < start:
        moment += timedelta(days=7)
    ends = []
    while moment < end:
        ends.append(moment)
        moment += timedelta(days=7)
    return ends


def week_of_end(moment: datetime) -> str:
    return iso_week(beijing(moment).date() - timedelta(days=1))


class WeeklyProjection(Projection):
    name = "weekly"
    topics = ("domain.ticket:Ticket.",)
    tables = ("weekly_counts", "weekly_checks", "ticket_states")

    def create_tables(self, db: Database) -> None:
        db["weekly_counts"].create(
            {"week": str, "town_id": str, "unit_id": str, **{c: int for c in COUNTS}},
            pk=("week", "town_id", "unit_id"))
        db["weekly_checks"].create({"week": str, "ticket_id": str, "town_id": str,
                                    "unit_id": str}, pk=("week", "ticket_id"))
        db["ticket_states"].create(
            {"n": int, "ticket_id": str, "town_id": str, "unit_id": str, "at": str,
             "until": str, "state": str, "deadline": str}, pk="n")
        db["ticket_states"].create_index(["ticket_id", "until"])
        db["ticket_states"].create_index(["until", "state", "deadline"])

    def handle(self, conn: sqlite3.Connection, n: int, event: Any) -> None:
        name = type(event).__name__
        if name not in EVENT_LABELS:
            raise ProjectionError(self.name, n, f"不认识的事件 {type(event).__qualname__}")
        ticket = event.originator_id.hex
        if name == "Opened":
            place = (event.town_id or "", event.unit_id)
            self._change(conn, n, event, ticket, place, "opened", event.deadline)
        else:
            current = conn.execute(
                "SELECT town_id, unit_id, state, deadline FROM ticket_states "
                "WHERE ticket_id = ? AND until IS NULL", (ticket,)).fetchone()
            if current is None:
                raise ProjectionError(self.name, n, "事件所属的问题尚未登记")
            place = current[:2]
            after = self._after(name, event, current[2], current[3])
            if after != tuple(current[2:]):
                self._change(conn, n, event, ticket, place, *after)
            if name in ("ProgressChecked", "ReInspected"):
                conn.execute("INSERT OR IGNORE INTO weekly_checks VALUES (?, ?, ?, ?)",
                             (iso_week(beijing(event.timestamp).date()), ticket, *place))
        self._count(conn, name, event, place)

    def _after(self, name: str, e: Any, state: str, deadline: str | None
               ) -> tuple[str, str | None]:
        """The state and deadline a ticket has after the event."""
        if name == "ReInspected":
            return ("verified" if e.passed else "assigned"), deadline
        if name in ("Assigned", "Reassigned", "Reopened"):
            return STATE_AFTER.get(name, state), e.deadline.isoformat()
        if name == "DeadlineExtended":
            return state, e.new_deadline.isoformat()
        return STATE_AFTER.get(name, state), deadline

    def _count(self, conn: sqlite3.Connection, name: str, e: Any, place: tuple) -> None:
        column = COUNTED.get(name) or ("returned" if name == "ReInspected" and not e.passed
                                       else None)
        if column:
            self._add(conn, iso_week(beijing(e.timestamp).date()), place, column, 1)

    @staticmethod
    def _add(conn: sqlite3.Connection, week: str, place: tuple, column: str, amount: int) -> None:
        conn.execute(f"INSERT INTO weekly_counts (week, town_id, unit_id, {column}) "
                     f"VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET {column} = "
                     f"coalesce({column}, 0) + excluded.{column}", (week, *place, amount))

    def _change(self, conn: sqlite3.Connection, n: int, e: Any, ticket: str, place: tuple,
                state: str, deadline: date | str | None) -> None:
        """End the ticket's current interval (writing out its overdue week ends) and start
        a new one."""
        now = when(e)
        previous = conn.execute(
            "SELECT at, state, deadline FROM ticket_states WHERE ticket_id = ? AND until IS NULL",
            (ticket,)).fetchone()
        if previous is not None:
            conn.execute("UPDATE ticket_states SET until = ? WHERE ticket_id = ? AND until IS NULL",
                         (now, ticket))
            start, old_state, old_deadline = previous
            if old_state in UNRECTIFIED and old_deadline:
                for end in week_ends(datetime.fromisoformat(start), e.timestamp):
                    if old_deadline < end.date().isoformat():
                        self._add(conn, week_of_end(end), place, "overdue", 1)
        if isinstance(deadline, date):
            deadline = deadline.isoformat()
        conn.execute("INSERT INTO ticket_states VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                     (n, ticket, *place, now, state, deadline))
