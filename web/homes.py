"""工作台's own part for each role (#11): what the office, an inspector, a unit, a town and a
leader have to do now, drawn above the county's figures; and one queue in full (/queues)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.errors import UnknownReferenceError
from domain.periods import Week
from domain.values import Role
from projections.cycle import WeekFigures, check_list, week_figures
from projections.directory_views import baobao_map
from projections.queues import QUEUES, instructions_awaiting, instructions_given, ticket_queue
from web.readside import Lookups
from web.templating import templates
from web.users import User

PREVIEW = 6      # rows of a queue shown on the home; the whole queue is a click away
FULL = 500       # rows of a queue shown in full

# The queues of each role, in the order a home shows them. Instruction queues are lists of
# 批示, the rest lists of tickets (projections/queues.py).
OFFICE = ("new", "extensions", "reinspection", "to_close", "unacknowledged")
INSPECTOR = ("reinspection",)
UNIT = ("to_acknowledge", "to_rectify", "returned", "my_extensions", "instructions")
TOWN = ("schools",)
LEADER = ("given",)
INSTRUCTION_TITLES = {"instructions": "领导批示待回复落实情况", "given": "我的批示及落实情况"}


@dataclass(frozen=True)
class Shown:
    """One queue as a home draws it: its name, title, rows, total, and the whole list's link."""

    name: str
    title: str
    rows: list[dict]
    total: int
    full: str


def _names_for(user: User, is_town: bool) -> list[str]:
    names: list[str] = []
    for role, queues in ((Role.OFFICE, OFFICE), (Role.INSPECTOR, INSPECTOR), (Role.UNIT, UNIT),
                         (Role.LEADER, LEADER)):
        if user.has(role) and (role != Role.UNIT or user.unit_id) and (
                role != Role.LEADER or user.person_id):
            names += [q for q in queues if q not in names]
    if is_town and user.has(Role.UNIT):
        names += TOWN
    return names


def _queue(name: str, app, db, config, user: User, limit: int | None, today: date) -> Shown:
    if name == "instructions":
        rows = instructions_awaiting(db, user.unit_id, limit=limit)
    elif name == "given":
        rows = instructions_given(db, user.login, limit=limit)
    else:
        spec = QUEUES[name]
        rows = ticket_queue(db, name, today, config.warn_days, sight=user.sight(app),
                            unit=user.unit_id if spec.mine else None, limit=limit)
    full = QUEUES[name].full if name in QUEUES and QUEUES[name].full else f"/queues?name={name}"
    return Shown(name, INSTRUCTION_TITLES.get(name) or QUEUES[name].title, rows.rows,
                 rows.total, full)


def _acts_for(app, user: User, kind: str) -> bool:
    if not user.has(Role.UNIT) or not user.unit_id:
        return False
    unit = app.directory().units.get(user.unit_id)
    return unit is not None and unit["kind"] == kind


def is_town_account(app, user: User) -> bool:
    """Whether the account acts for a town (镇街): it reads its schools' tickets too."""
    return _acts_for(app, user, "town")


def is_school_account(app, user: User) -> bool:
    """Whether the account acts for a school (it enters its own figures, 本校数据)."""
    return _acts_for(app, user, "school")


# the navigation asks too
templates.env.globals.update(is_town_account=is_town_account, is_school_account=is_school_account)


def home_queues(app, db, look: Lookups, config, user: User, week: WeekFigures,
                today: date) -> dict:
    """The home's own part: each role's queues (lights as on `today`), an inspector's (or
    town's) unchecked items of this week's check list, a town's ledger, and a leader's 包保
    with this week against the last."""
    town = is_town_account(app, user)
    shown = [_queue(name, app, db, config, user, PREVIEW, today)
             for name in _names_for(user, town)]
    context: dict = {"queues": {q.name: q for q in shown}, "town": user.unit_id if town else None}
    if user.has(Role.INSPECTOR) or town:
        rows = check_list(db, week.week, config.warn_days, user.sight(app))
        unchecked = [r for r in rows if not r["checked"]]
        context["week_checks"] = {"total": len(rows), "unchecked": len(unchecked),
                                  "rows": unchecked[:PREVIEW]}
    if user.has(Role.LEADER) and user.person_id:
        context["baobao"] = _baobao(app, db, look, user.person_id, week)
    return {"home": context}


def one_queue(app, db, config, user: User, name: str, today: date) -> Shown:
    """A queue of the user's in full (up to FULL rows); 404 for one that is not theirs."""
    if name not in _names_for(user, is_town_account(app, user)):
        raise UnknownReferenceError("没有这个待办清单")
    return _queue(name, app, db, config, user, FULL, today)


TREND = ("rank", "closure_rate", "overdue", "found_total", "closed_total", "on_time_rate")


def _baobao(app, db, look: Lookups, leader: str, week: WeekFigures) -> list[dict]:
    """The leader's 包保 towns (ranked) and schools as of today, each with this week's figures
    and last week's (as at its end), for the trend."""
    targets = next((b["units"] for b in baobao_map(db, app.today()) if b["leader_id"] == leader),
                   [])
    if not targets:
        return []
    before = week_figures(db, str(Week.parse(week.week).shifted(-1)), app.now())
    towns = {t["code"] for t in look.towns}
    found = []
    for target in targets:
        now, then = (_figures(w, target["code"], target["code"] in towns)
                     for w in (week, before))
        found.append({"code": target["code"], "name": target["name"],
                      "town": target["code"] in towns, **now,
                      **{f"{k}_before": then[k] for k in TREND}})
    return sorted(found, key=lambda t: (not t["town"], t["rank"] or 10**6, t["code"]))


def _figures(week: WeekFigures, code: str, town: bool) -> dict:
    if town:
        row = next((t for t in week.towns if t["town_id"] == code), None)
    else:
        row = next((r for r in week.rows if r["unit_id"] == code), None)
    row = row or {}
    return {k: row.get(k, 0 if k in ("overdue", "found_total", "closed_total") else None)
            for k in TREND}
