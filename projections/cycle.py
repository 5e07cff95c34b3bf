"""The weekly and monthly cycle's questions: a week's figures per town and unit, the weekly
check list and the monthly recheck list, for any week or month."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from domain.clock import BEIJING, beijing, iso_week

CHECKED_STATES = ("opened", "assigned", "rectified")
FIGURES = ("found", "rectified", "closed", "reopened", "returned", "checked", "overdue")
TOTALS = ("found_total", "closed_total")   # cumulative up to the week's end


WEEK = re.compile(r"(\d{4})-W(\d{2})")


def week_start(week: str) -> datetime:
    """Monday 00:00 Beijing of an ISO week such as 2019-W31; anything else is a ValueError."""
    match = WEEK.fullmatch(week)
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except (TypeError, ValueError):
        raise ValueError(f"周次「{week}」无效，应写成 2026-W05 这样的 ISO 周") from None
    return datetime(monday.year, monday.month, monday.day, tzinfo=BEIJING)


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
            "AND state IN ('opened', 'assigned') AND deadline < ? AND at <= ? GROUP BY 1, 2",
            (beijing(at).date().isoformat(), moment_text(at))):
        counts[(town, unit)] = counts.get((town, unit), 0) + overdue
    return counts


def week_figures(db: Database, week: str, now: datetime) -> WeekFigures:
    """Found, rectified, closed, reopened, returned, checked and overdue at week end (or now,
    for the running week) per town × unit, with the cumulative closure rate
    ((closed − reopened) ÷ (found − cancelled) up to that week); and the same per town, ranked."""
    end = week_start(week) + timedelta(days=7)
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
        r["closure_rate"] = _rate(r)
    ordered = sorted(rows.values(), key=lambda r: (r["town_id"], r["unit_id"]))
    return WeekFigures(week, ordered, _towns(ordered))


def _rate(figures: dict) -> float:
    live = figures["found_total"]
    return round(figures["closed_total"] / live, 4) if live else 0.0


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
        town["closure_rate"] = _rate(town)
    ordered = sorted(towns.values(), key=lambda t: (-t["closure_rate"], t["town_id"]))
    for t in ordered:   # competition ranking: equal rates share a rank
        t["rank"] = 1 + sum(o["closure_rate"] > t["closure_rate"] for o in ordered)
    return ordered


def at_moment(columns: str, where: str, *, tickets: bool = True) -> str:
    """SELECT `columns` of each ticket's state interval that holds at :at (joined with its
    ticket as `t`, unless `tickets` is false) and meets `where`. Written in two parts, each
    served by its own index: the intervals still open, and the few that have ended since :at."""
    join = " JOIN tickets t ON t.id = s.ticket_id" if tickets else ""
    part = ("SELECT {columns} FROM ticket_states s{join} "
            "WHERE {holds} AND s.at <= :at AND ({where})")
    return " UNION ALL ".join(part.format(columns=columns, join=join, holds=holds, where=where)
                              for holds in ("s.until IS NULL", "s.until > :at"))


CHECKED_AT_MONDAY = "s.state IN ('opened', 'assigned', 'rectified')"


def check_list(db: Database, week: str) -> list[dict]:
    """The week's check list as laid out on its Monday: every ticket not yet rectified and
    every one waiting for re-inspection, by town and school, red first; with whether it has
    been checked (visited or re-inspected) during the week."""
    columns = (
        "t.number AS number, t.title AS title, s.town_id AS town_id, s.unit_id AS unit_id, "
        "s.state AS state, s.deadline AS deadline, t.lead_unit_id AS lead_unit_id, "
        "CASE WHEN s.state IN ('opened', 'assigned') AND s.deadline < :today THEN 'red' "
        "WHEN s.state IN ('opened', 'assigned') AND s.deadline <= date(:today, '+3 days') "
        "THEN 'yellow' ELSE 'green' END AS light, "
        "EXISTS (SELECT 1 FROM weekly_checks c WHERE c.week = :week AND c.ticket_id = s.ticket_id) "
        "AS checked")
    cursor = db.execute(
        f"SELECT * FROM ({at_moment(columns, CHECKED_AT_MONDAY)}) ORDER BY town_id, unit_id, "
        "CASE light WHEN 'red' THEN 0 WHEN 'yellow' THEN 1 ELSE 2 END, state = 'rectified', "
        "deadline, number", _monday(week))
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, r, strict=True)) for r in cursor]


def check_counts(db: Database, week: str) -> dict[str, int]:
    """How many items the week's check list holds, and how many were checked in the week."""
    total, checked = db.execute(
        "SELECT count(*), count(c.ticket_id) FROM "
        f"({at_moment('s.ticket_id AS ticket_id', CHECKED_AT_MONDAY, tickets=False)}) "
        "x LEFT JOIN weekly_checks c ON c.week = :week AND c.ticket_id = x.ticket_id",
        _monday(week)).fetchone()
    return {"total": total, "checked": checked}


def _monday(week: str) -> dict:
    start = week_start(week)
    return {"at": moment_text(start), "today": start.date().isoformat(), "week": week}


def recheck_counts(db: Database, month: str) -> dict[str, int]:
    """How many tickets the month's recheck list holds, and how many of them held (巩固)."""
    total, held = db.execute(
        "SELECT count(*), count(*) - count(until) FROM ticket_states "
        "WHERE state = 'closed' AND at >= ? AND at < ?", _previous_month(month)).fetchone()
    return {"month": month, "total": total, "held": held}


def _previous_month(month: str) -> tuple[str, str]:
    first = date.fromisoformat(f"{month}-01")
    return (first - timedelta(days=1)).replace(day=1).isoformat(), first.isoformat()


def recheck_list(db: Database, month: str) -> list[dict]:
    """The monthly recheck list for a month such as 2019-08: tickets closed in the month
    before, each with whether the closing still holds (巩固) or the ticket was reopened."""
    cursor = db.execute(
        "SELECT t.number, t.title, s.town_id, s.unit_id, s.at AS closed_at, "
        "s.until AS reopened_at, t.state "
        "FROM ticket_states s JOIN tickets t ON t.id = s.ticket_id "
        "WHERE s.state = 'closed' AND s.at >= ? AND s.at < ? ORDER BY s.town_id, s.unit_id, s.at",
        _previous_month(month))
    columns = [c[0] for c in cursor.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cursor]
    for r in rows:
        r["result"] = "巩固" if r["reopened_at"] is None else "重新整改"
    return rows


def weekly_trend(db: Database, last_week: str, weeks: int = 12) -> list[dict]:
    """Found and closed per ISO week for the `weeks` weeks up to `last_week`, oldest first,
    with zeros for quiet weeks (the county as a whole)."""
    end = week_start(last_week).date()
    labels = [iso_week(end - timedelta(days=7 * i)) for i in reversed(range(weeks))]
    counts = {week: (found, closed) for week, found, closed in db.execute(
        "SELECT week, sum(found) - sum(cancelled), sum(closed) - sum(reopened) FROM weekly_counts "
        "WHERE week BETWEEN ? AND ? GROUP BY week", (labels[0], labels[-1]))}
    return [{"week": w, "found": counts.get(w, (0, 0))[0], "closed": counts.get(w, (0, 0))[1]}
            for w in labels]


def checklist_content(db: Database, week: str) -> dict:
    """What the week's check list run records: how many items, how many red, per town."""
    items = check_list(db, week)
    towns: dict[str, int] = {}
    for item in items:
        towns[item["town_id"] or ""] = towns.get(item["town_id"] or "", 0) + 1
    return {"week": week, "total": len(items),
            "red": sum(i["light"] == "red" for i in items),
            "waiting_reinspection": sum(i["state"] == "rectified" for i in items),
            "towns": towns, "numbers": [i["number"] for i in items]}


def recheck_content(db: Database, month: str) -> dict:
    """What the monthly recheck run records: the tickets closed last month, to be rechecked."""
    items = recheck_list(db, month)
    return {"month": month, "total": len(items), "numbers": [i["number"] for i in items]}
