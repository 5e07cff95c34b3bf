"""What a weekly bulletin (周通报) says, built from the read models for one ISO week: the
totals, the towns and departments ranked by closure rate, the overdue items named, next week's
due items, how much of the check list was checked, the month's recheck results, and the trend
for its chart. Plain JSON-ready data: the bulletin event stores it as it was issued."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlite_utils import Database

from domain.clock import beijing
from projections.cycle import (
    check_list,
    moment_text,
    recheck_list,
    week_figures,
    week_start,
    weekly_trend,
)
from projections.directory_views import names, units_of_kind

UNRECTIFIED = ("opened", "assigned")


def bulletin_content(db: Database, week: str, now: datetime) -> dict:
    """The bulletin of `week` as of `now`: on its Friday afternoon, what the week has brought so
    far; issued late (a run missed while the server was down), the week as it stood at its end."""
    end = week_start(week) + timedelta(days=7)
    moment = min(end, beijing(now))
    figures = week_figures(db, week, now)
    named = names(db)
    departments = {u["code"] for u in units_of_kind(db, "department")}
    states = _states_at(db, moment)
    checks = check_list(db, week)
    friday = (week_start(week) + timedelta(days=4)).date()
    rechecks = recheck_list(db, f"{friday:%Y-%m}")
    overdue = [t for t in states if t["state"] in UNRECTIFIED and t["deadline"]
               and t["deadline"] < moment.date().isoformat()]
    next_monday = end.date()
    due = [t for t in states if t["state"] in UNRECTIFIED and t["deadline"]
           and next_monday.isoformat() <= t["deadline"] <= (next_monday + timedelta(days=6)).isoformat()]
    rows = figures.rows
    return {
        "week": week, "as_of": moment_text(moment),
        "totals": {
            "found_week": sum(r["found"] for r in rows),
            "closed_week": sum(r["closed"] for r in rows),
            "found_total": sum(r["found_total"] for r in rows),
            "closed_total": sum(r["closed_total"] for r in rows),
            "in_rectification": sum(t["state"] in (*UNRECTIFIED, "rectified") for t in states),
            "overdue": len(overdue),
        },
        "towns": [{**_figures(t), "town_id": t["town_id"], "name": named.get(t["town_id"], ""),
                   "rank": t["rank"]} for t in figures.towns],
        "departments": _ranked([{**_figures(r), "unit_id": r["unit_id"],
                                 "name": named.get(r["unit_id"], "")}
                                for r in rows if r["unit_id"] in departments]),
        "overdue": [named_item(t, named, moment) for t in overdue],
        "due_next_week": [named_item(t, named, moment) for t in due],
        "check_list": {"total": len(checks), "checked": sum(1 for c in checks if c["checked"])},
        "rechecks": {"month": f"{friday:%Y-%m}", "total": len(rechecks),
                     "held": sum(r["result"] == "巩固" for r in rechecks)},
        "trend": weekly_trend(db, week),
    }


def _figures(r: dict) -> dict:
    return {k: r[k] for k in ("found", "closed", "overdue", "found_total", "closed_total",
                              "closure_rate")}


def _ranked(rows: list[dict]) -> list[dict]:
    """Ordered by closure rate, with competition ranks (equal rates share a rank)."""
    rows = sorted(rows, key=lambda r: (-r["closure_rate"], r["unit_id"]))
    for r in rows:
        r["rank"] = 1 + sum(o["closure_rate"] > r["closure_rate"] for o in rows)
    return rows


def _states_at(db: Database, moment: datetime) -> list[dict]:
    """Every ticket's state and deadline at `moment`, with what naming it needs."""
    cursor = db.execute(
        "SELECT t.number, t.title, s.town_id, s.unit_id, s.state, s.deadline, "
        "t.lead_unit_id, t.person_id, t.leader_ids FROM ticket_states s "
        "JOIN tickets t ON t.id = s.ticket_id "
        "WHERE s.at <= :at AND (s.until IS NULL OR s.until > :at) ORDER BY s.deadline, t.number",
        {"at": moment_text(moment)})
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, r, strict=True)) for r in cursor]


def named_item(t: dict, named: dict[str, str], moment: datetime) -> dict:
    """A ticket named as a bulletin names it: its unit, lead unit, person and 包保 leaders."""
    late = (moment.date() - datetime.fromisoformat(t["deadline"]).date()).days
    return {"number": t["number"], "title": t["title"], "deadline": t["deadline"],
            "days_overdue": max(late, 0), "town_id": t["town_id"], "unit_id": t["unit_id"],
            "lead_unit_id": t["lead_unit_id"], "town": named.get(t["town_id"] or "", ""),
            "unit": named.get(t["unit_id"], t["unit_id"]),
            "lead_unit": named.get(t["lead_unit_id"] or "", ""),
            "person": named.get(t["person_id"] or "", ""),
            "leaders": [named.get(p, p) for p in json.loads(t["leader_ids"] or "[]")]}
