"""The weekly and monthly cycle's questions: a week's figures per town and unit, the weekly
check list and the monthly recheck list, for any week or month."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
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
from domain.ranking import closure_rate, on_time_rate, ranked
from domain.visibility import EVERYTHING, Sight

FIGURES = ("found", "rectified", "closed", "reopened", "returned", "cancelled", "extended",
           "checked", "overdue")
# Cumulative up to the week's end (or now, for the running week): each the sum of its weekly
# figure over the weeks, so that the columns add up (domain/ranking.py).
SUMMED = ("found", "closed", "cancelled", "reopened", "extended")
TOTALS = (*(f"{f}_total" for f in SUMMED), "due_total", "on_time_total")
ON_CHECK_LIST = in_states(IN_RECTIFICATION, "s.state")


def moment_text(moment: datetime) -> str:
    return beijing(moment).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class WeekFigures:
    week: str
    rows: list[dict]     # one per town × unit with any figure
    towns: list[dict]    # one per town: sums of its units, rates, rank
    county: dict         # the whole county: sums of every row, rates


def _overdue(db: Database, at: datetime, week: str | None) -> dict[tuple, int]:
    """Tickets not rectified and past their deadline at `at`, per town and unit: at an ended
    `week`'s end, the intervals written out by the projection plus the ones still open; within
    the running week (no `week`, `at` being now or the moment of a view of the past), the
    tickets as they stand then."""
    counts: dict[tuple, int] = {}
    params = {"today": beijing(at).date().isoformat(), "at": moment_text(at)}
    red = light_where(Light.RED, "s.state", "s.deadline")
    if week:
        for town, unit, overdue in db.execute(
                "SELECT town_id, unit_id, overdue FROM weekly_counts WHERE week = ? "
                "AND overdue > 0", (week,)):
            counts[(town, unit)] = overdue
        sql = ("SELECT town_id, unit_id, count(*) FROM ticket_states s WHERE until IS NULL "
               f"AND {red} AND at <= :at GROUP BY 1, 2")
    else:   # the tickets as they stand (or stood, in a view of the past) at `at`
        sql = ("SELECT coalesce(town_id, ''), unit_id, count(*) FROM tickets t "
               f"WHERE {light_where(Light.RED)} GROUP BY 1, 2")
    for town, unit, overdue in db.execute(sql, params):
        counts[(town, unit)] = counts.get((town, unit), 0) + overdue
    return counts


def _on_time_since(db: Database, week: Week, at: datetime) -> dict[tuple, Counter]:
    """The running week's part of the on-time figures, per town and unit, as the weekly sums
    would hold them once the week is over, but only for what has happened by `at`: tickets
    whose first deadline fell this week and has passed, less those cancelled, and those
    counted as on time (see projections/weekly.py)."""
    counts: dict[tuple, Counter] = defaultdict(Counter)
    params = {"monday": week.first_day.isoformat(), "today": beijing(at).date().isoformat(),
              "start": moment_text(week.start), "at": moment_text(at)}
    passed = "first_deadline < :today"
    this_week = f"first_deadline >= :monday AND {passed}"
    for figure, sign, where in (
            ("due_total", 1, this_week),
            ("due_total", -1, f"{this_week} AND cancelled_at <= :at"),
            ("due_total", -1, "cancelled_at >= :start AND cancelled_at <= :at "
                              "AND first_deadline < :monday"),
            ("on_time_total", 1, f"{this_week} AND on_time_at <= :at"),
            ("on_time_total", 1, "on_time_at >= :start AND on_time_at <= :at "
                                 "AND first_deadline < :monday")):
        for town, unit, n in db.execute(f"SELECT town_id, unit_id, count(*) FROM ticket_terms "
                                        f"WHERE {where} GROUP BY 1, 2", params):
            counts[(town, unit)][figure] += sign * n
    return counts


def week_figures(db: Database, week: str, now: datetime,
                 overdue: Mapping[tuple[str, str], int] | None = None) -> WeekFigures:
    """The week's figures per town × unit (found, rectified, closed, reopened, returned,
    cancelled, extended, checked, and overdue at week end or now, for the running week), the
    cumulative sums up to then, and the closure and on-time rates (domain/ranking.py); the same
    per town, ranked, and for the county. A caller that has read the overdue items of that
    moment (the bulletin) gives their count per (town, unit) as `overdue`, not read again."""
    this = Week.parse(week)
    ended = this.end <= now
    rows: dict[tuple, dict] = {}

    def row(town: str, unit: str) -> dict:
        return rows.setdefault((town, unit), {"town_id": town, "unit_id": unit,
                                              **dict.fromkeys(FIGURES, 0),
                                              **dict.fromkeys(TOTALS, 0)})

    # Due and on time are written ahead (a deadline is known when set): up to a week that has
    # ended they are final; within the running week only what has happened by now counts.
    ahead = "1" if ended else "week < :week"
    sums = ", ".join([*(f"sum({f})" for f in SUMMED),
                      *(f"sum(CASE WHEN {ahead} THEN {f} ELSE 0 END)" for f in ("due", "on_time"))])
    for town, unit, *values in db.execute(
            f"SELECT town_id, unit_id, {sums} FROM weekly_counts WHERE week <= :week "
            "GROUP BY town_id, unit_id", {"week": week}):
        if any(values):
            row(town, unit).update(zip(TOTALS, values, strict=True))
    if not ended:
        for (town, unit), counts in _on_time_since(db, this, now).items():
            if any(counts.values()):
                r = row(town, unit)
                for figure, n in counts.items():
                    r[figure] += n
    weekly = FIGURES[:7]
    for town, unit, *values in db.execute(
            f"SELECT town_id, unit_id, {', '.join(weekly)} FROM weekly_counts WHERE week = ? "
            f"AND ({' OR '.join(weekly)})", (week,)):
        row(town, unit).update({k: v or 0 for k, v in zip(weekly, values, strict=True)})
    for town, unit, checked in db.execute(
            "SELECT town_id, unit_id, count(*) FROM weekly_checks WHERE week = ? GROUP BY 1, 2",
            (week,)):
        row(town, unit)["checked"] = checked
    if overdue is None:
        overdue = _overdue(db, this.end if ended else now, week if ended else None)
    for (town, unit), n in overdue.items():
        row(town, unit)["overdue"] = n
    for r in rows.values():
        _rates(r)
    ordered = sorted(rows.values(), key=lambda r: (r["town_id"], r["unit_id"]))
    return WeekFigures(week, ordered, _towns(ordered), _summed(ordered, {}))


def _rates(r: dict) -> dict:
    r["closure_rate"] = closure_rate(r["closed_total"], r["reopened_total"], r["found_total"],
                                     r["cancelled_total"])
    r["on_time_rate"] = on_time_rate(r["on_time_total"], r["due_total"])
    return r


def _summed(rows: list[dict], into: dict) -> dict:
    """The figures of `rows` added up into `into`, with its rates."""
    into |= {f: into.get(f, 0) for f in FIGURES + TOTALS}
    for r in rows:
        for figure in FIGURES + TOTALS:
            into[figure] += r[figure]
    return _rates(into)


def _towns(rows: list[dict]) -> list[dict]:
    """Per town (county bodies aside): the sums of its units, its rates and its rank."""
    towns: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["town_id"]:
            towns[r["town_id"]].append(r)
    return ranked([_summed(units, {"town_id": town}) for town, units in towns.items()],
                  tiebreak=lambda t: t["town_id"])


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
    during the week, and the state it is in now (`state_now`)."""
    columns = (
        "s.ticket_id AS ticket_id, t.number AS number, t.title AS title, "
        "s.town_id AS town_id, s.unit_id AS unit_id, "
        "s.state AS state, s.deadline AS deadline, t.lead_unit_id AS lead_unit_id, "
        "t.state AS state_now, "      # what a page may offer on the item today
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


# A closing's recheck outcome as of a moment: reopened (重新整改) if the closed interval has
# ended, else held (巩固) if the recheck recorded so (RecheckHeld) while it stood, else not yet
# rechecked (未回查).
OUTCOMES = {"reopened": "重新整改", "held": "巩固", "pending": "未回查"}


def _outcome_sql(at: str) -> str:
    return (f"CASE WHEN s.until IS NOT NULL AND s.until <= {at} THEN 'reopened' "
            "WHEN EXISTS (SELECT 1 FROM recheck_holds h WHERE h.ticket_id = s.ticket_id "
            f"AND h.at > s.at AND h.at <= {at} AND (s.until IS NULL OR h.at < s.until)) "
            "THEN 'held' ELSE 'pending' END")


OUTCOME_SQL = _outcome_sql(":at")
# A month's recheck list: the closings of the month before, and those of earlier months still
# 未回查 when the month began (carried over, `carried`), so that an item leaves the lists only
# with a recorded outcome. :start and :end bound the month before.
ON_RECHECK_LIST = (f"s.state = 'closed' AND s.at < :end AND (s.at >= :start OR "
                   f"{_outcome_sql(':end')} = 'pending')")
LATEST = "9999-12-31"    # as of now: anything the read model holds


def recheck_counts(db: Database, month: str, at: datetime | None = None) -> dict:
    """How many tickets the month's recheck list holds, and of them how many held (巩固, a
    recorded recheck), were reopened (重新整改) and are not yet rechecked (未回查), as of `at`."""
    start, end = _previous_month(month)
    counts = dict(db.execute(
        f"SELECT {OUTCOME_SQL} AS outcome, count(*) FROM ticket_states s "
        f"WHERE {ON_RECHECK_LIST} GROUP BY outcome",
        {"start": start, "end": end, "at": moment_text(at) if at else LATEST}).fetchall())
    return {"month": month, "total": sum(counts.values()),
            **{outcome: counts.get(outcome, 0) for outcome in OUTCOMES}}


def _previous_month(month: str) -> tuple[str, str]:
    """The days that bound the month before `month`, as text: [its first, this one's first)."""
    this = Month.parse(month)
    return this.shifted(-1).first_day.isoformat(), this.first_day.isoformat()


def recheck_list(db: Database, month: str, sight: Sight,
                 at: datetime | None = None) -> list[dict]:
    """The monthly recheck list for a month such as 2019-08: the tickets `sight` sees that
    were closed in the month before (and earlier closings still 未回查 when the month began,
    `carried`), each with its outcome so far: 巩固 (the recheck recorded that the fix held:
    `held_at`, `held_by`, `held_note`), 重新整改 (reopened: `reopened_at`, `reopened_by`,
    `findings`) or 未回查, which stays on the lists until one of them is recorded. With `at`,
    as of that moment (a view of the past)."""
    start, end = _previous_month(month)
    clause, params = sight.where()
    held = ("(SELECT h.n FROM recheck_holds h WHERE h.ticket_id = s.ticket_id AND h.at > s.at "
            "AND (s.until IS NULL OR h.at < s.until) ORDER BY h.at LIMIT 1)")
    cursor = db.execute(
        "SELECT t.number, t.title, s.town_id, s.unit_id, s.at AS closed_at, "
        "CASE WHEN s.until <= :at THEN s.until END AS reopened_at, t.state, t.version, "
        f"{OUTCOME_SQL} AS outcome, "
        "s.at < :start AS carried, "
        "held.at AS held_at, held.by_name AS held_by, held.summary AS held_note, "
        "reopened.by_name AS reopened_by, reopened.summary AS findings "
        "FROM ticket_states s JOIN tickets t ON t.id = s.ticket_id "
        f"LEFT JOIN timeline held ON held.notification_id = {held} "
        "LEFT JOIN timeline reopened ON s.until IS NOT NULL "
        "AND reopened.notification_id = (SELECT n FROM ticket_states x "
        "WHERE x.ticket_id = s.ticket_id AND x.at = s.until) "
        f"WHERE {ON_RECHECK_LIST} AND {clause} "
        "ORDER BY s.town_id, s.unit_id, s.at",
        params | {"start": start, "end": end, "at": moment_text(at) if at else LATEST})
    columns = [c[0] for c in cursor.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cursor]
    for r in rows:
        r["result"] = OUTCOMES[r["outcome"]]
    return rows


def weekly_trend(db: Database, last_week: str, weeks: int = 12) -> list[dict]:
    """Found and closed per ISO week for the `weeks` weeks up to `last_week`, oldest first,
    with zeros for quiet weeks (the county as a whole). Counted as the cumulative figures are,
    so that they add up to them: cancelled and reopened are figures of their own."""
    last = Week.parse(last_week)
    labels = [str(last.shifted(-i)) for i in reversed(range(weeks))]
    counts = {week: (found, closed) for week, found, closed in db.execute(
        "SELECT week, sum(found), sum(closed) FROM weekly_counts "
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
