"""The weekly and monthly cycle's questions: a week's figures per town and unit, the weekly
check list and the monthly recheck list, for any week or month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from domain.clock import beijing
from domain.lights import (
    IN_RECTIFICATION,
    Light,
    in_states,
    light_params,
    light_sql,
    light_where,
    red_first_sql,
)
from domain.periods import Month, Week
from domain.ranking import closure_rate, ranked
from domain.visibility import EVERYTHING, Sight

FIGURES = ("found", "rectified", "closed", "reopened", "returned", "checked", "overdue")
TOTALS = ("found_total", "closed_total")   # cumulative up to the week's end
ON_CHECK_LIST = in_states(IN_RECTIFICATION, "s.state")


def moment_text(moment: datetime) -> str:
    return beijing(moment).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class WeekFigures:
    week: str
    rows: list[dict]     # one per town × unit with any figure
    towns: list[dict]    # one per town: this week's sums, cumulative closure rate, rank


def _overdue(db: Database, at: datetime, week: str | None) -> dict[tuple, int]:
    """Tickets not rectified and past their deadline at `at`, per town and unit: the intervals
    written out by the projection plus the ones still open."""
    counts: dict[tuple, int] = {}
    if week:
        for town, unit, overdue in db.execute(
                "SELECT town_id, unit_id, overdue FROM weekly_counts WHERE week = ? "
                "AND overdue > 0", (week,)):
            counts[(town, unit)] = overdue
    for town, unit, overdue in db.execute(
            "SELECT town_id, unit_id, count(*) FROM ticket_states WHERE until IS NULL "
            f"AND {light_where(Light.RED, 'state', 'deadline')} AND at <= :at GROUP BY 1, 2",
            {"today": beijing(at).date().isoformat(), "at": moment_text(at)}):
        counts[(town, unit)] = counts.get((town, unit), 0) + overdue
    return counts


def week_figures(db: Database, week: str, now: datetime) -> WeekFigures:
    """Found, rectified, closed, reopened, returned, checked and overdue at week end (or now,
    for the running week) per town × unit, with the cumulative closure rate
    ((closed − reopened) ÷ (found − cancelled) up to that week); and the same per town, ranked."""
    end = Week.parse(week).end
    ended = end <= now
    rows: dict[tuple, dict] = {}

    def row(town: str, unit: str) -> dict:
        return rows.setdefault((town, unit), {"town_id": town, "unit_id": unit,
                                              **dict.fromkeys(FIGURES, 0),
                                              **dict.fromkeys(TOTALS, 0)})

    for town, unit, found, closed, reopened, cancelled in db.execute(
            "SELECT town_id, unit_id, sum(found), sum(closed), sum(reopened), sum(cancelled) "
            "FROM weekly_counts WHERE week <= ? GROUP BY town_id, unit_id", (week,)):
        row(town, unit).update(found_total=found - cancelled, closed_total=closed - reopened)
    for town, unit, *values in db.execute(
            "SELECT town_id, unit_id, found, rectified, closed, reopened, returned "
            "FROM weekly_counts WHERE week = ?", (week,)):
        row(town, unit).update({k: v or 0 for k, v in zip(FIGURES[:5], values, strict=True)})
    for town, unit, checked in db.execute(
            "SELECT town_id, unit_id, count(*) FROM weekly_checks WHERE week = ? GROUP BY 1, 2",
            (week,)):
        row(town, unit)["checked"] = checked
    for (town, unit), overdue in _overdue(db, end if ended else now,
                                          week if ended else None).items():
        row(town, unit)["overdue"] = overdue
    for r in rows.values():
        r["closure_rate"] = closure_rate(r["closed_total"], r["found_total"])
    ordered = sorted(rows.values(), key=lambda r: (r["town_id"], r["unit_id"]))
    return WeekFigures(week, ordered, _towns(ordered))


def _towns(rows: list[dict]) -> list[dict]:
    """Per town (county bodies aside): the sums of its units, its closure rate and its rank."""
    towns: dict[str, dict] = {}
    for r in rows:
        if r["town_id"]:
            town = towns.setdefault(r["town_id"], {"town_id": r["town_id"],
                                                   **dict.fromkeys(FIGURES + TOTALS, 0)})
            for figure in FIGURES + TOTALS:
                town[figure] += r[figure]
    for town in towns.values():
        town["closure_rate"] = closure_rate(town["closed_total"], town["found_total"])
    return ranked(list(towns.values()), tiebreak=lambda t: t["town_id"])


def at_moment(columns: str, where: str, *, tickets: bool = True) -> str:
    """SELECT `columns` of each ticket's state interval that holds at :at (joined with its
    ticket as `t`, unless `tickets` is false) and meets `where`. Written in two parts, each
    served by its own index: the intervals still open, and the few that have ended since :at."""
    join = " JOIN tickets t ON t.id = s.ticket_id" if tickets else ""
    part = ("SELECT {columns} FROM ticket_states s{join} "
            "WHERE {holds} AND s.at <= :at AND ({where})")
    return " UNION ALL ".join(part.format(columns=columns, join=join, holds=holds, where=where)
                              for holds in ("s.until IS NULL", "s.until > :at"))


def check_list(db: Database, week: str, warn_days: int, sight: Sight) -> list[dict]:
    """The week's check list as laid out on its Monday: every ticket not yet rectified and
    every one waiting for re-inspection that `sight` sees, by town and school, red first
    (lights as on that Monday); with whether it has been checked (visited or re-inspected)
    during the week."""
    columns = (
        "t.number AS number, t.title AS title, s.town_id AS town_id, s.unit_id AS unit_id, "
        "s.state AS state, s.deadline AS deadline, t.lead_unit_id AS lead_unit_id, "
        f"{light_sql('s.state', 's.deadline')} AS light, "
        "EXISTS (SELECT 1 FROM weekly_checks c WHERE c.week = :week AND c.ticket_id = s.ticket_id) "
        "AS checked")
    clause, sight_params = sight.where()
    monday = Week.parse(week).start.date()
    where = f"{ON_CHECK_LIST} AND {clause}"
    params = _monday(week) | light_params(monday, warn_days) | sight_params
    cursor = db.execute(
        f"SELECT * FROM ({at_moment(columns, where)}) ORDER BY town_id, unit_id, "
        f"{red_first_sql()}, state = 'rectified', deadline, number", params)
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, r, strict=True)) for r in cursor]


def check_counts(db: Database, week: str) -> dict[str, int]:
    """How many items the week's check list holds, and how many were checked in the week."""
    total, checked = db.execute(
        "SELECT count(*), count(c.ticket_id) FROM "
        f"({at_moment('s.ticket_id AS ticket_id', ON_CHECK_LIST, tickets=False)}) "
        "x LEFT JOIN weekly_checks c ON c.week = :week AND c.ticket_id = x.ticket_id",
        _monday(week)).fetchone()
    return {"total": total, "checked": checked}


def _monday(week: str) -> dict:
    """The week's list is laid out as things stood at its Monday 00:00."""
    return {"at": moment_text(Week.parse(week).start), "week": week}


def recheck_counts(db: Database, month: str) -> dict[str, int]:
    """How many tickets the month's recheck list holds, and how many of them held (巩固)."""
    total, held = db.execute(
        "SELECT count(*), count(*) - count(until) FROM ticket_states "
        "WHERE state = 'closed' AND at >= ? AND at < ?", _previous_month(month)).fetchone()
    return {"month": month, "total": total, "held": held}


def _previous_month(month: str) -> tuple[str, str]:
    """The days that bound the month before `month`, as text: [its first, this one's first)."""
    this = Month.parse(month)
    return this.shifted(-1).first_day.isoformat(), this.first_day.isoformat()


def recheck_list(db: Database, month: str, sight: Sight) -> list[dict]:
    """The monthly recheck list for a month such as 2019-08: the tickets `sight` sees that
    were closed in the month before, each with whether the closing still holds (巩固) or the
    ticket was reopened."""
    start, end = _previous_month(month)
    clause, params = sight.where()
    cursor = db.execute(
        "SELECT t.number, t.title, s.town_id, s.unit_id, s.at AS closed_at, "
        "s.until AS reopened_at, t.state "
        "FROM ticket_states s JOIN tickets t ON t.id = s.ticket_id "
        f"WHERE s.state = 'closed' AND s.at >= :start AND s.at < :end AND {clause} "
        "ORDER BY s.town_id, s.unit_id, s.at", params | {"start": start, "end": end})
    columns = [c[0] for c in cursor.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cursor]
    for r in rows:
        r["result"] = "巩固" if r["reopened_at"] is None else "重新整改"
    return rows


def weekly_trend(db: Database, last_week: str, weeks: int = 12) -> list[dict]:
    """Found and closed per ISO week for the `weeks` weeks up to `last_week`, oldest first,
    with zeros for quiet weeks (the county as a whole)."""
    last = Week.parse(last_week)
    labels = [str(last.shifted(-i)) for i in reversed(range(weeks))]
    counts = {week: (found, closed) for week, found, closed in db.execute(
        "SELECT week, sum(found) - sum(cancelled), sum(closed) - sum(reopened) FROM weekly_counts "
        "WHERE week BETWEEN ? AND ? GROUP BY week", (labels[0], labels[-1]))}
    return [{"week": w, "found": counts.get(w, (0, 0))[0], "closed": counts.get(w, (0, 0))[1]}
            for w in labels]


def checklist_content(db: Database, week: str, warn_days: int) -> dict:
    """What the week's check list run records: how many items, how many red, per town."""
    items = check_list(db, week, warn_days, EVERYTHING)
    towns: dict[str, int] = {}
    for item in items:
        towns[item["town_id"] or ""] = towns.get(item["town_id"] or "", 0) + 1
    return {"week": week, "total": len(items),
            "red": sum(i["light"] == "red" for i in items),
            "waiting_reinspection": sum(i["state"] == "rectified" for i in items),
            "towns": towns, "numbers": [i["number"] for i in items]}


def recheck_content(db: Database, month: str) -> dict:
    """What the monthly recheck run records: the tickets closed last month, to be rechecked."""
    items = recheck_list(db, month, EVERYTHING)
    return {"month": month, "total": len(items), "numbers": [i["number"] for i in items]}
