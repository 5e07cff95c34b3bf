"""The `weekly` read models: counts per ISO week × town × unit, which tickets were checked in a
week, each ticket's state history (for "overdue at week end" and past check lists), each
ticket's terms for the on-time rate, and the monthly recheck's recorded holds.

A ticket is overdue at a week's end (Monday 00:00 Beijing) when it is not yet rectified and its
deadline is before that Monday. Intervals of a ticket's life are written out week by week when
they end; the interval still open is counted at query time (projections/cycle.py).

The on-time rate (domain/ranking.py) is kept per ticket (`ticket_terms`: the deadline set at
assignment, the last rectification's completion day, the moment a rectification completed by
that deadline passed re-inspection, the moment of cancelling) and as weekly sums (`due`,
`on_time`), which a week may hold ahead of time (a deadline is known when it is set).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlite_utils import Database

from domain.clock import beijing
from domain.lights import UNRECTIFIED, unrectified_sql
from domain.periods import iso_week, week_ends
from domain.ranking import rectified_on_time
from domain.ticket import EVENT_LABELS
from projections.base import Item, Projection, ProjectionError

COUNTS = ("found", "rectified", "closed", "reopened", "returned", "cancelled", "overdue",
          "extended", "due", "on_time")
TERMS = ("ticket_id", "town_id", "unit_id", "first_deadline", "completed_on", "on_time_at",
         "cancelled_at", "assigned_n")
STATE_AFTER = {"Opened": "opened", "Assigned": "assigned", "Rectified": "rectified",
               "Closed": "closed", "Reopened": "assigned", "Cancelled": "cancelled"}
COUNTED = {"Opened": "found", "Rectified": "rectified", "Closed": "closed",
           "Reopened": "reopened", "Cancelled": "cancelled", "DeadlineExtended": "extended"}
FIGURE = {figure: i for i, figure in enumerate(COUNTS)}    # a figure's place in a week's counts
CHECKING = frozenset({"ProgressChecked", "ReInspected"})
# The events that change a ticket's on-time terms: the cases of _Batch.terms_follow, the only
# events handed to it (keep the two alike)
TERMED = frozenset({"Opened", "Assigned", "Rectified", "ReInspected", "Cancelled",
                    "RecheckHeld"})
OVERDUE = FIGURE["overdue"]


def week_of_end(moment: datetime) -> str:
    return iso_week(beijing(moment).date() - timedelta(days=1))


class WeeklyProjection(Projection):
    name = "weekly"
    version = 9     # 9: indexes covering the bulletin's reads (open and closed intervals, sums)
    topics = ("domain.ticket:Ticket.",)
    tables = ("weekly_counts", "weekly_checks", "ticket_states", "ticket_terms", "recheck_holds",
              "weekly_marks")
    query_indexes = {
        "weekly_checks_place": "CREATE INDEX IF NOT EXISTS weekly_checks_place "
                               "ON weekly_checks (week, town_id, unit_id)",
        # "Not rectified and past its deadline at week end", per place, read in index order
        # (no sorting); the query's WHERE must repeat this one's for SQLite to use it.
        "ticket_states_unrectified": "CREATE INDEX IF NOT EXISTS ticket_states_unrectified "
                                     "ON ticket_states (town_id, unit_id, deadline, at) WHERE "
                                     f"until IS NULL AND {unrectified_sql('state')}",
        "ticket_states_at": "CREATE INDEX IF NOT EXISTS ticket_states_at ON ticket_states (at)",
        # "Open at a moment" is read in two parts (cycle.at_moment): the intervals still open,
        # by state and deadline, and the few that have ended since the moment. The first
        # covers what the bulletin's counts and lists read of an interval, so they read no
        # table rows (SQLite 3.40 needs a partial index's own WHERE column in it to see that).
        "ticket_states_current": "CREATE INDEX IF NOT EXISTS ticket_states_current "
                                 "ON ticket_states (state, deadline, at, ticket_id, town_id, "
                                 "unit_id, until) WHERE until IS NULL",
        "ticket_states_until": "CREATE INDEX IF NOT EXISTS ticket_states_until "
                               "ON ticket_states (until) WHERE until IS NOT NULL",
        # The recheck lists and counts (cycle.ON_RECHECK_LIST): the closings before a month's
        # end, without reading the table (most intervals are not closings).
        "ticket_states_closed": "CREATE INDEX IF NOT EXISTS ticket_states_closed "
                                "ON ticket_states (at, until, ticket_id, state) "
                                "WHERE state = 'closed'",
        # The cumulative sums per place up to a week (cycle.week_figures), read in place order
        # from the index alone.
        "weekly_counts_place": "CREATE INDEX IF NOT EXISTS weekly_counts_place ON weekly_counts "
                               "(town_id, unit_id, week, found, closed, cancelled, reopened, "
                               "extended, due, on_time)",
        # The running week's part of the on-time rate (cycle._on_time_since).
        **{f"ticket_terms_{c}": f"CREATE INDEX IF NOT EXISTS ticket_terms_{c} ON ticket_terms "
           f"({c}) WHERE {c} IS NOT NULL"
           for c in ("first_deadline", "on_time_at", "cancelled_at")},
    }

    def create_tables(self, db: Database) -> None:
        db["weekly_counts"].create(
            {"week": str, "town_id": str, "unit_id": str, **{c: int for c in COUNTS}},
            pk=("week", "town_id", "unit_id"), defaults=dict.fromkeys(COUNTS, 0))
        db["weekly_checks"].create({"week": str, "ticket_id": str, "town_id": str,
                                    "unit_id": str, "n": int}, pk=("week", "ticket_id"))
        # Each count but `overdue` as the event that made it (`late`: counted in a week before
        # the event's own, which only a deadline already past does), so that a view of the
        # past takes back what came after it (projections/asof.py).
        db["weekly_marks"].create({"n": int, "week": str, "town_id": str, "unit_id": str,
                                   "figure": str, "delta": int, "late": int})
        db.execute("CREATE INDEX weekly_marks_week ON weekly_marks (week, n)")
        db.execute("CREATE INDEX weekly_marks_late ON weekly_marks (n) WHERE late")
        db["ticket_states"].create(
            {"n": int, "ticket_id": str, "town_id": str, "unit_id": str, "at": str,
             "until": str, "state": str, "deadline": str}, pk="n")
        db.execute("CREATE INDEX ticket_states_open ON ticket_states (ticket_id) "
                   "WHERE until IS NULL")
        db["ticket_terms"].create(dict.fromkeys(TERMS, str) | {"assigned_n": int},
                                  pk="ticket_id")
        db["recheck_holds"].create({"n": int, "ticket_id": str, "at": str}, pk="n")
        db.execute("CREATE INDEX recheck_holds_ticket ON recheck_holds (ticket_id, at)")
        self.create_query_indexes(db)

    def apply(self, conn: sqlite3.Connection, items: Sequence[Item]) -> None:
        batch = _Batch(conn, {i.aggregate for i in items if i.name != "Opened"})
        intervals, change, count = batch.current, batch.change, batch.count
        for item in items:
            name = item.name
            if name not in EVENT_LABELS:
                raise self.unknown(item)
            event = item.event
            week = _week(item.at)
            if name == "Opened":
                place = (event.town_id or "", event.unit_id)
                change(item, place, "opened",
                       event.deadline.isoformat() if event.deadline else None)
            else:
                current = intervals.get(item.aggregate)
                if current is None:
                    raise ProjectionError(self.name, item.n, "事件所属的问题尚未登记")
                place = (current[2], current[3])
                after = _after(name, event, current[6], current[7])
                if after != (current[6], current[7]):
                    change(item, place, *after)
                if name in CHECKING:
                    batch.checks.setdefault((week, item.aggregate), (*place, item.n))
            column = COUNTED.get(name) or (
                "returned" if name == "ReInspected" and not event.passed else None)
            if column:
                count(item, week, week, place, column)
            if name in TERMED:
                batch.terms_follow(item, week, place)
        batch.write()


@lru_cache(maxsize=4096)
def _day_week(day: str) -> str:
    return iso_week(date.fromisoformat(day))


def _week(at: str) -> str:
    return _day_week(at[:10])


def _may_span_week_end(start: str, end: str) -> bool:
    """Whether [start, end) may hold a Monday 00:00 (both Beijing ISO text): not when both
    fall in one ISO week and the start is not a midnight (its Monday's would come before)."""
    return _week(start) != _week(end) or start[11:26] == "00:00:00.000000"


def _after(name: str, e: Any, state: str, deadline: str | None) -> tuple[str, str | None]:
    """The state and deadline a ticket has after the event."""
    if name == "ReInspected":
        return ("verified" if e.passed else "assigned"), deadline
    if name in ("Assigned", "Reassigned", "Reopened"):
        return STATE_AFTER.get(name, state), e.deadline.isoformat()
    if name == "DeadlineExtended":
        return state, e.new_deadline.isoformat()
    return STATE_AFTER.get(name, state), deadline


class _Batch:
    """A batch's changes to the weekly tables, kept in memory and written at the end."""

    def __init__(self, conn: sqlite3.Connection, tickets: set[str]) -> None:
        self.conn = conn
        # ticket -> its open interval: [n, ticket, town, unit, at, until, state, deadline]
        self.current: dict[str, list] = {
            row[1]: list(row) for row in conn.execute(
                "SELECT n, ticket_id, town_id, unit_id, at, until, state, deadline "
                "FROM ticket_states WHERE until IS NULL AND ticket_id IN "
                "(SELECT value FROM json_each(?))", (json.dumps(list(tickets)),))}
        self.new: dict[int, list] = {}               # intervals opened in this batch, by n
        self.ended: list[tuple[str, int]] = []       # (until, n) of intervals already stored
        self.counts: dict[tuple, list[int]] = {}     # (week, town, unit) -> COUNTS
        self.marks: list[tuple] = []
        self.checks: dict[tuple, tuple] = {}
        cursor = conn.execute(f"SELECT {', '.join(TERMS)} FROM ticket_terms WHERE ticket_id IN "
                              "(SELECT value FROM json_each(?))", (json.dumps(list(tickets)),))
        # ticket -> its terms, a dict in TERMS order
        self.terms: dict[str, dict] = {r[0]: dict(zip(TERMS, r, strict=True)) for r in cursor}
        self.holds: list[tuple] = []

    def terms_follow(self, item: Item, week: str, place: tuple) -> None:
        """Keep the ticket's on-time terms (domain/ranking.py) and the weekly sums of them. A
        ticket is due in the week of its first deadline; it counts as on time in that week or
        the week of its passing re-inspection, whichever is later; a cancellation takes it out
        of the count from then (or from its deadline's week, if later). Only TERMED events
        come here."""
        e = item.event
        if item.name == "Opened":
            self.terms[item.aggregate] = dict.fromkeys(TERMS) | {
                "ticket_id": item.aggregate, "town_id": place[0], "unit_id": place[1]}
            return
        terms = self.terms[item.aggregate]
        deadline = terms["first_deadline"]
        match item.name:
            case "Assigned" if deadline is None:
                terms["first_deadline"] = e.deadline.isoformat()
                terms["assigned_n"] = item.n
                self.count(item, _day_week(terms["first_deadline"]), week, place, "due")
            case "Rectified":
                terms["completed_on"] = e.completed_on.isoformat()
            case "ReInspected" if e.passed and terms["on_time_at"] is None and rectified_on_time(
                    date.fromisoformat(terms["completed_on"]),
                    deadline and date.fromisoformat(deadline)):
                terms["on_time_at"] = item.at
                self.count(item, max(week, _day_week(deadline)), week, place, "on_time")
            case "Cancelled":
                terms["cancelled_at"] = item.at
                if deadline:     # never rectified, so never on time: out of the count
                    self.count(item, max(week, _day_week(deadline)), week, place, "due", -1)
            case "RecheckHeld":
                self.holds.append((item.n, item.aggregate, item.at))

    def count(self, item: Item, week: str, item_week: str, place: tuple, figure: str,
              delta: int = 1) -> None:
        """Count the item in a week (`item_week` being its own)."""
        self._counts(week, place)[FIGURE[figure]] += delta
        self.marks.append((item.n, week, *place, figure, delta, int(week < item_week)))

    def _counts(self, week: str, place: tuple) -> list[int]:
        key = (week, *place)
        if (counts := self.counts.get(key)) is None:
            counts = self.counts[key] = [0] * len(COUNTS)
        return counts

    def change(self, item: Item, place: tuple, state: str, deadline: str | None) -> None:
        """End the ticket's open interval, counting the week ends it was overdue at, and
        open the next one."""
        previous = self.current.get(item.aggregate)
        if previous is not None:
            previous[5] = item.at
            if previous[0] not in self.new:
                self.ended.append((item.at, previous[0]))
            start, old_state, old_deadline = previous[4], previous[6], previous[7]
            if old_state in UNRECTIFIED and old_deadline and _may_span_week_end(start, item.at):
                # Both ends as stored, so that a week end lies in exactly one interval.
                for end in week_ends(datetime.fromisoformat(start),
                                     datetime.fromisoformat(item.at)):
                    if old_deadline < end.date().isoformat():
                        self._counts(week_of_end(end), place)[OVERDUE] += 1
        row = [item.n, item.aggregate, *place, item.at, None, state, deadline]
        self.current[item.aggregate] = row
        self.new[item.n] = row

    def write(self) -> None:
        self.conn.executemany("UPDATE ticket_states SET until = ? WHERE n = ?", self.ended)
        self.conn.executemany("INSERT INTO ticket_states VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              self.new.values())
        columns = ", ".join(COUNTS)
        self.conn.executemany(
            f"INSERT INTO weekly_counts (week, town_id, unit_id, {columns}) "
            f"VALUES (?, ?, ?, {', '.join('?' * len(COUNTS))}) ON CONFLICT DO UPDATE SET "
            + ", ".join(f"{c} = {c} + excluded.{c}" for c in COUNTS),
            [(*key, *counts) for key, counts in self.counts.items()])
        self.conn.executemany("INSERT OR IGNORE INTO weekly_checks VALUES (?, ?, ?, ?, ?)",
                              [(*key, *rest) for key, rest in self.checks.items()])
        self.conn.executemany("INSERT INTO weekly_marks VALUES (?, ?, ?, ?, ?, ?, ?)",
                              self.marks)
        self.conn.executemany(
            f"INSERT OR REPLACE INTO ticket_terms ({', '.join(TERMS)}) "
            f"VALUES ({', '.join('?' * len(TERMS))})",
            [tuple(t.values()) for t in self.terms.values()])
        self.conn.executemany("INSERT INTO recheck_holds VALUES (?, ?, ?)", self.holds)
