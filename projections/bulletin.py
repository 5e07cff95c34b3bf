"""What a weekly bulletin (周通报) says, built from the read models for one ISO week: the
totals, the towns and departments ranked by closure rate, the overdue items named, next week's
due items, how much of the check list was checked, the month's recheck results, and the trend
for its chart. Plain JSON-ready data: the bulletin event stores it as it was issued."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from domain.clock import beijing
from domain.lights import (
    IN_RECTIFICATION,
    Light,
    days_overdue,
    in_states,
    light_params,
    light_where,
    unrectified_sql,
)
from domain.periods import Month, Week
from domain.ranking import ranked
from domain.telling import named_first
from projections.cycle import (
    at_moment,
    check_counts,
    moment_text,
    recheck_counts,
    week_figures,
    weekly_trend,
)
from projections.directory_views import names, units_of_kind

ITEM_COLUMNS = ("t.number AS number, t.title AS title, s.state AS state, s.town_id AS town_id, "
                "s.unit_id AS unit_id, s.deadline AS deadline, t.lead_unit_id AS lead_unit_id, "
                "t.co_unit_ids AS co_unit_ids, t.person_id AS person_id, "
                "t.leader_ids AS leader_ids, t.overdue_incurred AS overdue_incurred")
# What a town's or department's row says: this week's figures, the cumulative ones (each the
# sum of the weekly), and the rates (domain/ranking.py).
ROW_FIGURES = ("found", "closed", "cancelled", "reopened", "extended", "overdue",
               "found_total", "closed_total", "cancelled_total", "reopened_total",
               "extended_total", "due_total", "on_time_total", "closure_rate", "on_time_rate")


def bulletin_content(db: Database, week: str, now: datetime) -> dict:
    """The bulletin of `week` as of `now`: on its Friday afternoon, what the week has brought so
    far; issued late (a run missed while the server was down), the week as it stood at its end."""
    end = Week.parse(week).end
    moment = min(end, beijing(now))
    figures = week_figures(db, week, now)
    named = names(db)
    departments = {u["code"] for u in units_of_kind(db, "department")}
    at = {"at": moment_text(moment), "today": moment.date().isoformat()}
    next_monday = end.date()
    overdue = _items(db, light_where(Light.RED, "s.state", "s.deadline"), at, named, moment)
    due = _items(db, f"{unrectified_sql('s.state')} AND s.deadline BETWEEN :monday AND :sunday",
                 at | {"monday": next_monday.isoformat(),
                       "sunday": (next_monday + timedelta(days=6)).isoformat()}, named, moment)
    friday = Week.parse(week).first_day + timedelta(days=4)
    rows, county = figures.rows, figures.county
    return {
        "week": week, "as_of": moment_text(moment),
        "totals": {
            **{f"{f}_week": county[f] for f in ("found", "closed", "cancelled", "reopened",
                                                 "extended")},
            **{k: county[k] for k in ROW_FIGURES if k.endswith(("_total", "_rate"))},
            "in_rectification": _count(db, in_states(IN_RECTIFICATION, "s.state"), at),
            "overdue": len(overdue),
        },
        "towns": [{**_figures(t), "town_id": t["town_id"], "name": named.get(t["town_id"], ""),
                   "rank": t["rank"]} for t in figures.towns],
        "departments": ranked([{**_figures(r), "unit_id": r["unit_id"],
                                "name": named.get(r["unit_id"], "")}
                               for r in rows if r["unit_id"] in departments],
                              tiebreak=lambda r: r["unit_id"]),
        "overdue": overdue,
        "due_next_week": due,
        "check_list": check_counts(db, week),
        "rechecks": recheck_counts(db, str(Month.of(friday)), moment),
        "trend": weekly_trend(db, week),
    }


def for_issue(content: dict) -> dict:
    """The bulletin as issued: its named lists cut to NAMED_LIMIT each."""
    return {**content, "overdue": named_first(content["overdue"]),
            "due_next_week": named_first(content["due_next_week"])}


def _count(db: Database, where: str, params: dict) -> int:
    return sum(n for (n,) in db.execute(at_moment("count(*)", where, tickets=False), params))


def _items(db: Database, where: str, params: dict, named: dict[str, str],
           moment: datetime) -> list[dict]:
    cursor = db.execute(f"{at_moment(ITEM_COLUMNS, where)} ORDER BY deadline, number", params)
    columns, leaders = [c[0] for c in cursor.description], {}
    return [named_item(dict(zip(columns, r, strict=True)), named, moment.date(), leaders)
            for r in cursor]


def _figures(r: dict) -> dict:
    return {k: r[k] for k in ROW_FIGURES}


def named_item(t: dict, named: dict[str, str], day: date, lists: dict | None = None) -> dict:
    """A ticket named as a bulletin names it: its unit, lead unit, person and 包保 leaders,
    how many days past its deadline it is on `day`, and the ids the visibility rule reads
    (co-responsible units, leaders). `lists` memoises the decoding and naming of each stored
    list (a county has few distinct ones)."""
    lists = {} if lists is None else lists
    co, leaders = t["co_unit_ids"] or "[]", t["leader_ids"] or "[]"
    if co not in lists:
        lists[co] = json.loads(co)
    if leaders not in lists:
        ids = json.loads(leaders)
        lists[leaders] = (ids, [named.get(p, p) for p in ids])
    return {"number": t["number"], "title": t["title"], "deadline": t["deadline"],
            "days_overdue": days_overdue(t["state"], date.fromisoformat(t["deadline"]), day),
            "overdue_incurred": t["overdue_incurred"] or 0,
            "town_id": t["town_id"], "unit_id": t["unit_id"],
            "lead_unit_id": t["lead_unit_id"], "co_unit_ids": lists[co],
            "leader_ids": lists[leaders][0], "town": named.get(t["town_id"] or "", ""),
            "unit": named.get(t["unit_id"], t["unit_id"]),
            "lead_unit": named.get(t["lead_unit_id"] or "", ""),
            "person": named.get(t["person_id"] or "", ""), "leaders": lists[leaders][1]}


def open_items(db: Database, day: date, warn_days: int) -> list[dict]:
    """Tickets assigned and not yet rectified with a deadline on or before `day` + `warn_days`,
    named (the day's reminders)."""
    cursor = db.execute(
        "SELECT number, title, town_id, unit_id, state, deadline, lead_unit_id, co_unit_ids, "
        f"person_id, leader_ids, overdue_incurred FROM tickets t WHERE {unrectified_sql()} "
        "AND lead_unit_id IS NOT NULL AND deadline <= :soon ORDER BY deadline, number",
        light_params(day, warn_days))
    columns, lists = [c[0] for c in cursor.description], {}
    named = names(db)
    return [named_item(dict(zip(columns, r, strict=True)), named, day, lists) for r in cursor]
