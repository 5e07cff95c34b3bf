"""What a weekly bulletin (周通报) says, built from the read models for one ISO week: the
totals, the towns and departments ranked by closure rate, the overdue items named, next week's
due items, how much of the check list was checked, the month's recheck results, and the trend
for its chart. Plain JSON-ready data: the bulletin event stores it as it was issued."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from domain.clock import beijing
from projections.cycle import (
    at_moment,
    check_counts,
    moment_text,
    recheck_counts,
    week_figures,
    week_start,
    weekly_trend,
)
from projections.directory_views import names, units_of_kind

UNRECTIFIED = "('opened', 'assigned')"
NAMED_LIMIT = 200   # items a bulletin or a leader's digest names; the rest are counted
ITEM_COLUMNS = ("t.number AS number, t.title AS title, s.town_id AS town_id, "
                "s.unit_id AS unit_id, s.deadline AS deadline, t.lead_unit_id AS lead_unit_id, "
                "t.person_id AS person_id, t.leader_ids AS leader_ids")


def bulletin_content(db: Database, week: str, now: datetime) -> dict:
    """The bulletin of `week` as of `now`: on its Friday afternoon, what the week has brought so
    far; issued late (a run missed while the server was down), the week as it stood at its end."""
    end = week_start(week) + timedelta(days=7)
    moment = min(end, beijing(now))
    figures = week_figures(db, week, now)
    named = names(db)
    departments = {u["code"] for u in units_of_kind(db, "department")}
    at = {"at": moment_text(moment), "day": moment.date().isoformat()}
    next_monday = end.date()
    overdue = _items(db, f"s.state IN {UNRECTIFIED} AND s.deadline < :day", at, named, moment)
    due = _items(db, f"s.state IN {UNRECTIFIED} AND s.deadline BETWEEN :monday AND :sunday",
                 at | {"monday": next_monday.isoformat(),
                       "sunday": (next_monday + timedelta(days=6)).isoformat()}, named, moment)
    friday = (week_start(week) + timedelta(days=4)).date()
    rows = figures.rows
    return {
        "week": week, "as_of": moment_text(moment),
        "totals": {
            "found_week": sum(r["found"] for r in rows),
            "closed_week": sum(r["closed"] for r in rows),
            "found_total": sum(r["found_total"] for r in rows),
            "closed_total": sum(r["closed_total"] for r in rows),
            "in_rectification": _count(db, "s.state IN ('opened', 'assigned', 'rectified')", at),
            "overdue": len(overdue),
        },
        "towns": [{**_figures(t), "town_id": t["town_id"], "name": named.get(t["town_id"], ""),
                   "rank": t["rank"]} for t in figures.towns],
        "departments": _ranked([{**_figures(r), "unit_id": r["unit_id"],
                                 "name": named.get(r["unit_id"], "")}
                                for r in rows if r["unit_id"] in departments]),
        "overdue": overdue,
        "due_next_week": due,
        "check_list": check_counts(db, week),
        "rechecks": recheck_counts(db, f"{friday:%Y-%m}"),
        "trend": weekly_trend(db, week),
    }


def named_first(items: list[dict], limit: int = NAMED_LIMIT) -> dict:
    """A list as a 通报 prints it: the first `limit` (the longest overdue, or the soonest
    due) and how many more there are (the 问题清单 lists them all)."""
    return {"items": items[:limit], "more": max(0, len(items) - limit)}


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
    return {k: r[k] for k in ("found", "closed", "overdue", "found_total", "closed_total",
                              "closure_rate")}


def _ranked(rows: list[dict]) -> list[dict]:
    """Ordered by closure rate, with competition ranks (equal rates share a rank)."""
    rows = sorted(rows, key=lambda r: (-r["closure_rate"], r["unit_id"]))
    for r in rows:
        r["rank"] = 1 + sum(o["closure_rate"] > r["closure_rate"] for o in rows)
    return rows


def named_item(t: dict, named: dict[str, str], day: date, leaders: dict | None = None) -> dict:
    """A ticket named as a bulletin names it: its unit, lead unit, person and 包保 leaders,
    and how many days past its deadline it is on `day`. `leaders` memoises the names of each
    stored list of leader ids (a county has few distinct ones)."""
    late = (day - date.fromisoformat(t["deadline"])).days
    leaders = {} if leaders is None else leaders
    ids = t["leader_ids"] or "[]"
    if ids not in leaders:
        leaders[ids] = [named.get(p, p) for p in json.loads(ids)]
    return {"number": t["number"], "title": t["title"], "deadline": t["deadline"],
            "days_overdue": max(late, 0), "town_id": t["town_id"], "unit_id": t["unit_id"],
            "lead_unit_id": t["lead_unit_id"], "town": named.get(t["town_id"] or "", ""),
            "unit": named.get(t["unit_id"], t["unit_id"]),
            "lead_unit": named.get(t["lead_unit_id"] or "", ""),
            "person": named.get(t["person_id"] or "", ""), "leaders": leaders[ids]}
