"""The read models as they stood at a past moment (#13): the same questions (projections/
queries.py, ledger.py, …) asked of a connection on which temporary views shadow the tables
that change, each showing only what the log held up to the moment's position.

SQLite looks a name up in the `temp` schema before `main`, so a view `temp.tickets` answers
every query that names `tickets`: no query has a second, historical spelling. The views read
the versioned tables (projections/history.py) and the rows each event added (by their
notification id); the directory is dated of itself and keeps its own tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlite_utils import Database

from domain.clock import beijing
from domain.periods import iso_week
from projections.history import alive_at
from projections.tickets import NAMES as TICKET_COLUMNS
from projections.weekly import COUNTS

MARKED = [f for f in COUNTS if f != "overdue"]


@dataclass(frozen=True)
class Moment:
    """The log as it stood at an instant: every event up to notification `position`; `at` is
    the instant, whose Beijing day sets the lights and days overdue."""

    position: int
    at: datetime

    @property
    def day(self) -> date:
        return beijing(self.at).date()

    @property
    def week(self) -> str:
        return iso_week(self.day)

    @property
    def label(self) -> str:
        return beijing(self.at).strftime("%Y-%m-%d %H:%M")


def moment_at(db: Database, instant: datetime) -> Moment:
    """The moment of an instant: the last ticket event recorded at or before it (events are
    timed when recorded, so log order is time order)."""
    row = db.execute("SELECT notification_id FROM timeline WHERE at <= ? "
                     "ORDER BY at DESC LIMIT 1", (when_text(instant),)).fetchone()
    return Moment(row[0] if row else 0, instant)


def when_text(instant: datetime) -> str:
    return beijing(instant).isoformat(timespec="microseconds")


def _summed(figure: str) -> str:
    return f"sum(CASE WHEN figure = '{figure}' THEN delta ELSE 0 END) AS {figure}"


# Each shadowed table, as the log held it at {alive} (versions) or {position} (rows by event).
VIEWS = {
    "tickets": f"SELECT rowid AS rowid, {', '.join(TICKET_COLUMNS)} FROM main.ticket_history "
               "WHERE {alive}",
    "ticket_units": "SELECT id AS ticket_id, lead_unit_id AS unit_id, 1 AS lead FROM temp.tickets "
                    "WHERE lead_unit_id IS NOT NULL UNION ALL SELECT t.id, j.value, 0 "
                    "FROM temp.tickets t, json_each(t.co_unit_ids) j "
                    "WHERE t.lead_unit_id IS NOT NULL",
    "ticket_leaders": "SELECT DISTINCT t.id AS ticket_id, j.value AS leader_id "
                      "FROM temp.tickets t, json_each(t.leader_ids) j",
    "timeline": "SELECT * FROM main.timeline WHERE notification_id <= {position}",
    "dealing": "SELECT ticket_id, units, assigned, assigned_at, unsigned, asking "
               "FROM main.dealing_history WHERE {alive}",
    "acknowledgements": "SELECT d.ticket_id, j.key AS unit_id, j.value AS at "
                        "FROM main.dealing_history d, json_each(d.acknowledged) j WHERE {alive}",
    "chases": "SELECT * FROM main.chases WHERE n <= {position}",
    "instructions": "SELECT * FROM main.instructions WHERE notification <= {position}",
    "instruction_replies": "SELECT * FROM main.instruction_replies WHERE seq <= {position}",
    "weekly_checks": "SELECT * FROM main.weekly_checks WHERE n <= {position}",
    # What bulletins and messages named a ticket, by the time they were issued or queued
    "told": "SELECT * FROM main.told WHERE at <= '{instant}'",
    "recheck_holds": "SELECT * FROM main.recheck_holds WHERE n <= {position}",
    # A ticket's on-time terms once it was first assigned (its other times are compared with
    # the moment by the questions themselves).
    "ticket_terms": "SELECT * FROM main.ticket_terms WHERE coalesce(assigned_n, 0) <= {position}",
    # The weekly sums less what came after the moment: the moment's own week's later events,
    # and the rare count a later event made in an earlier week (a deadline already past).
    # Weeks after the moment's are not asked of a view of the past, nor `overdue` of weeks
    # before it (the running week's overdue is read from the state intervals).
    "weekly_counts": (
        f"SELECT c.week, c.town_id, c.unit_id, "
        f"{', '.join(f'c.{f} - coalesce(l.{f}, 0) AS {f}' for f in MARKED)}, c.overdue "
        "FROM main.weekly_counts c LEFT JOIN (SELECT week, town_id, unit_id, "
        f"{', '.join(_summed(f) for f in MARKED)} "
        "FROM (SELECT * FROM main.weekly_marks WHERE week = '{week}' AND n > {position} "
        "UNION ALL SELECT * FROM main.weekly_marks WHERE late AND n > {position} "
        "AND week < '{week}') GROUP BY 1, 2, 3) l "
        "ON l.week = c.week AND l.town_id = c.town_id AND l.unit_id = c.unit_id"),
}


@contextmanager
def as_of(db: Database, moment: Moment) -> Iterator[Database]:
    """`db` answering as of `moment` until the block ends (a connection one user at a time
    holds: the views are its own)."""
    for name, sql in VIEWS.items():
        db.execute(f"CREATE TEMP VIEW {name} AS " + sql.format(
            alive=alive_at(moment.position), position=int(moment.position),
            week=moment.week, instant=when_text(moment.at)))
    try:
        yield db
    finally:
        for name in reversed(VIEWS):
            db.execute(f"DROP VIEW IF EXISTS temp.{name}")
