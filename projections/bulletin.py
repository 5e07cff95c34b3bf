"""What a weekly bulletin (周通报) says, built from the read models for one ISO week: the
totals, the towns and departments ranked by closure rate, the overdue items named, next week's
due items, how much of the check list was checked, the month's recheck results, and the trend
for its chart. Plain JSON-ready data: the bulletin event stores it as it was issued.

A bulletin speaks of its moment (Friday 16:00, or its week's end when issued late). Its 本期
figures are what its cumulative figures add to the previous bulletin's as printed, so they cover
the time from that bulletin's moment to its own (the first's, from the campaign's start), and
the cumulative figures are the sums of the 本期 figures of the bulletins issued. Findings made
after a Friday bulletin are in the next one's 本期, not lost between two calendar weeks."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from domain.clock import beijing
from domain.cycle import bulletin_number
from domain.errors import InvalidInputError
from domain.lights import (
    IN_RECTIFICATION,
    Light,
    days_overdue,
    in_states,
    light_params,
    light_where,
    unrectified_sql,
)
from domain.periods import Month, Week, moment_label, span_label
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
from projections.runs import previous_run
from projections.weekly import COUNTED

ITEM_COLUMNS = ("t.number AS number, t.title AS title, s.state AS state, s.town_id AS town_id, "
                "s.unit_id AS unit_id, s.deadline AS deadline, t.lead_unit_id AS lead_unit_id, "
                "t.co_unit_ids AS co_unit_ids, t.person_id AS person_id, "
                "t.leader_ids AS leader_ids, t.overdue_incurred AS overdue_incurred")
# What a town's or department's row says: this issue's (本期) figures, the cumulative ones (each
# the sum of the 本期 figures issued), and the rates (domain/ranking.py).
PERIOD = ("found", "closed", "cancelled", "reopened", "extended")
ROW_FIGURES = ("found", "closed", "cancelled", "reopened", "extended", "overdue",
               "found_total", "closed_total", "cancelled_total", "reopened_total",
               "extended_total", "due_total", "on_time_total", "closure_rate", "on_time_rate")


def bulletin_content(db: Database, week: str, now: datetime,
                     campaign_start: date | None = None) -> dict:
    """The bulletin of `week` as of `now`: on its Friday afternoon, what the week has brought so
    far; issued late (a run missed while the server was down), the week as it stood at its end.
    Its 本期 figures run from the previous bulletin's moment (or `campaign_start`) to its own."""
    end = Week.parse(week).end
    moment = min(end, beijing(now))
    before = _previous(db, week, campaign_start)
    named = names(db)
    departments = {u["code"] for u in units_of_kind(db, "department")}
    at = {"at": moment_text(moment), "today": moment.date().isoformat()}
    next_monday = end.date()
    overdue = _items(db, light_where(Light.RED, "s.state", "s.deadline"), at, named, moment)
    due = _items(db, f"{unrectified_sql('s.state')} AND s.deadline BETWEEN :monday AND :sunday",
                 at | {"monday": next_monday.isoformat(),
                       "sunday": (next_monday + timedelta(days=6)).isoformat()}, named, moment)
    # The items named overdue are those the figures count, at the same moment: counted per
    # place from them rather than read again.
    figures = week_figures(db, week, now,
                           overdue=Counter((i["town_id"], i["unit_id"]) for i in overdue))
    friday = Week.parse(week).first_day + timedelta(days=4)
    earlier = _earlier(db, before)
    county = figures.county
    return {
        "week": week, "as_of": moment_text(moment),
        "totals": {
            "period": _period_label(before, campaign_start, moment),
            **_this_issue(county, earlier["county"], "_period"),
            **{k: county[k] for k in ROW_FIGURES if k.endswith(("_total", "_rate"))},
            "in_rectification": _count(db, in_states(IN_RECTIFICATION, "s.state"), at),
            "overdue": len(overdue),
        },
        "towns": [{**_figures(t), **_this_issue(t, earlier["towns"].get(t["town_id"], {})),
                   "town_id": t["town_id"], "name": named.get(t["town_id"], ""),
                   "rank": t["rank"]} for t in figures.towns],
        "departments": ranked([{**_figures(r),
                                **_this_issue(r, earlier["departments"].get(r["unit_id"], {})),
                                "unit_id": r["unit_id"], "name": named.get(r["unit_id"], "")}
                               for r in figures.rows if r["unit_id"] in departments],
                              tiebreak=lambda r: r["unit_id"]),
        "overdue": overdue,
        "due_next_week": due,
        "check_list": check_counts(db, week),
        "rechecks": recheck_counts(db, str(Month.of(friday)), moment),
        "trend": weekly_trend(db, week),
    }


def _previous(db: Database, week: str, campaign_start: date | None) -> dict | None:
    """The bulletin issued before `week`'s, whose moment this one's 本期 starts from. A week
    earlier than one already issued is refused: the later bulletin's 本期 has counted it. (A
    week before the campaign has no bulletin: domain/cycle_commands.py says so; a week another
    scheduler has issued meanwhile is returned as issued, whatever is built here.)"""
    later = db.execute("SELECT period, number FROM runs WHERE kind = 'bulletin' AND period >= ? "
                       "ORDER BY period LIMIT 1", (week,)).fetchone()
    if later and later[0] != week and not (
            campaign_start and bulletin_number(campaign_start, week) < 1):
        raise InvalidInputError(f"已发布第{later[1]}期周通报（{later[0]}），其本期数已包含此前"
                                f"未通报的发现和销号，不能再补发更早的 {week} 周通报")
    return previous_run(db, "bulletin", week)


def _moment_of(run: dict) -> datetime:
    """The moment a bulletin issued speaks of: as it says, or its week's end or issue time."""
    if "as_of" in run["content"]:
        return datetime.fromisoformat(run["content"]["as_of"])
    return min(Week.parse(run["period"]).end, beijing(datetime.fromisoformat(run["issued_at"])))


def _period_label(before: dict | None, campaign_start: date | None, moment: datetime) -> str:
    """本期's dates: from the previous bulletin's moment, or the campaign's start, to `moment`."""
    if before:
        return span_label(_moment_of(before), moment)
    if campaign_start:
        return span_label(campaign_start, moment)
    return f"创建工作开始—{moment_label(moment)}"


def _this_issue(row: dict, earlier: dict, suffix: str = "") -> dict:
    """本期: what `row`'s cumulative figures add to the ones printed before."""
    return {f"{f}{suffix}": row[f"{f}_total"] - earlier.get(f, 0) for f in PERIOD}


def _earlier(db: Database, before: dict | None) -> dict:
    """The cumulative figures the previous bulletin printed (none before the first)."""
    if before is None:
        return {"county": {}, "towns": {}, "departments": {}}
    return _printed(before) or _counted_upto(db, before)


def _printed(run: dict) -> dict | None:
    """The cumulative figures a bulletin printed, per county, town and department; None for
    a bulletin issued before they were sums of their own (#11), which are counted again."""
    content = run["content"]
    if "period" not in content["totals"]:
        return None

    def cumulative(row: dict) -> dict:
        return {f: row[f"{f}_total"] for f in PERIOD}

    return {"county": cumulative(content["totals"]),
            "towns": {t["town_id"]: cumulative(t) for t in content["towns"]},
            "departments": {d["unit_id"]: cumulative(d) for d in content["departments"]}}


def _counted_upto(db: Database, run: dict) -> dict:
    """The cumulative figures as of a bulletin's moment, counted from each ticket's recorded
    events as week_figures counts them (before its week's end, and not after its moment)."""
    events = {name: figure for name, figure in COUNTED.items() if figure in PERIOD}
    departments = {u["code"] for u in units_of_kind(db, "department")}
    counted: dict = {"county": {}, "towns": {}, "departments": {}}
    for town, unit, event, n in db.execute(
            "SELECT t.town_id, t.unit_id, l.event, count(*) FROM timeline l "
            "JOIN tickets t ON t.id = l.ticket_id WHERE l.at <= ? AND l.at < ? AND l.event IN "
            f"({', '.join('?' * len(events))}) GROUP BY 1, 2, 3",
            (moment_text(_moment_of(run)), moment_text(Week.parse(run["period"]).end),
             *events)):
        figure = events[event]
        places = [counted["county"]]
        if town:
            places.append(counted["towns"].setdefault(town, {}))
        if unit in departments:
            places.append(counted["departments"].setdefault(unit, {}))
        for place in places:
            place[figure] = place.get(figure, 0) + n
    return counted


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
