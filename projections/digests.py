"""Who receives what (DESIGN §3): each 包保 leader the county summary with the detail of their
own towns, each responsible unit's head its own overdue and coming items, and each leader the
overdue items of their towns as a daily escalation. A digest is a recipient, a subject and the
data its mail shows, kept with the delivery: what that person was told, as it was told."""

from __future__ import annotations

from datetime import date, timedelta

from sqlite_utils import Database

from projections.bulletin import named_first, named_item
from projections.directory_views import baobao_map, heads_on, names

UNRECTIFIED = "('opened', 'assigned')"


def leader_weekly(db: Database, bulletin: dict, number: int, county: str,
                  day: date) -> list[dict]:
    """Each leader's weekly digest: the county's totals and ranking, and their own towns'
    overdue items and items due next week (named as the bulletin names them, the first
    NAMED_LIMIT of each). `bulletin` is the content with its whole lists."""
    people, digests = _people(db), []
    for leader, towns, units in _leaders(db, day):
        digests.append(_digest(
            people, f"leader-{leader['leader_id']}", leader["leader_id"], "包保领导",
            f"【周通报 第{number}期】{county}问题销号周报（{bulletin['week']}）",
            {"kind": "leader_weekly", "week": bulletin["week"], "number": number,
             "county": county, "totals": bulletin["totals"], "all_towns": bulletin["towns"],
             "towns": [t for t in bulletin["towns"] if t["town_id"] in towns],
             "units": [u["name"] for u in leader["units"]],
             "overdue": named_first(_theirs(bulletin["overdue"], towns, units)),
             "due_next_week": named_first(_theirs(bulletin["due_next_week"], towns, units))}))
    return digests


def unit_weekly(db: Database, bulletin: dict, number: int, county: str,
                day: date) -> list[dict]:
    """Each responsible unit named in the bulletin: its own overdue items and items due next
    week, to the person heading it."""
    coming = {"overdue": bulletin["overdue"], "due_soon": bulletin["due_next_week"]}
    return _unit_digests(db, coming, day, county, f"周通报 第{number}期", "下周到期")


def daily(db: Database, day: date, warn_days: int, county: str) -> list[dict]:
    """The day's reminders, from one read of the open items: 到期提醒 to each responsible unit
    with anything overdue or due within `warn_days` (its own list, to the person heading it),
    and 逾期督办 to each leader whose towns have overdue items."""
    items = open_items(db, day, warn_days)
    coming = {"overdue": [i for i in items if i["days_overdue"] > 0],
              "due_soon": [i for i in items if i["days_overdue"] == 0]}
    return (_unit_digests(db, coming, day, county, "到期提醒", f"{warn_days} 天内到期")
            + _escalations(db, coming["overdue"], day, county))


def _escalations(db: Database, overdue: list[dict], day: date, county: str) -> list[dict]:
    people, digests = _people(db), []
    for leader, towns, units in _leaders(db, day):
        theirs = _theirs(overdue, towns, units)
        if theirs:
            digests.append(_digest(
                people, f"leader-{leader['leader_id']}", leader["leader_id"], "包保领导",
                f"【逾期督办】{county}问题销号：包保镇街逾期 {len(theirs)} 项（{day}）",
                {"kind": "leader_escalation", "day": day.isoformat(), "county": county,
                 "units": [u["name"] for u in leader["units"]], "overdue": theirs}))
    return digests


def _unit_digests(db: Database, coming: dict[str, list[dict]], day: date, county: str,
                  label: str, due_label: str) -> list[dict]:
    by_unit: dict[str, dict[str, list]] = {}
    for part, items in coming.items():
        for item in items:
            if item["lead_unit_id"]:
                unit = by_unit.setdefault(item["lead_unit_id"], {"overdue": [], "due_soon": []})
                unit[part].append(item)
    heads, named, people, digests = heads_on(db, day), names(db), _people(db), []
    for code, theirs in sorted(by_unit.items()):
        name = named.get(code, code)
        digests.append(_digest(
            people, f"unit-{code}", heads.get(code), "责任单位负责人",
            f"【{label}】{county}问题销号：{name}待办事项（{day}）",
            {"kind": "unit_list", "day": day.isoformat(), "county": county, "unit": name,
             "label": label, "due_label": due_label, **theirs},
            fallback=f"{name}负责人"))
    return digests


def _leaders(db: Database, day: date):
    """Each leader on `day` with the towns their 包保 units lie in, and the units themselves."""
    parents = dict(db.execute("SELECT code, CASE kind WHEN 'town' THEN code ELSE parent END "
                              "FROM units"))
    for leader in baobao_map(db, day):
        units = {u["code"] for u in leader["units"]}
        yield leader, {parents.get(u) for u in units}, units


def _theirs(items: list[dict], towns: set, units: set) -> list[dict]:
    return [i for i in items if i["town_id"] in towns or i["unit_id"] in units]


def open_items(db: Database, day: date, warn_days: int) -> list[dict]:
    """Tickets not yet rectified with a deadline on or before `day` + `warn_days`, named."""
    cursor = db.execute(
        "SELECT number, title, town_id, unit_id, state, deadline, lead_unit_id, person_id, "
        f"leader_ids FROM tickets WHERE state IN {UNRECTIFIED} AND lead_unit_id IS NOT NULL "
        "AND deadline <= ? ORDER BY deadline, number",
        ((day + timedelta(days=warn_days)).isoformat(),))
    columns = [c[0] for c in cursor.description]
    named = names(db)
    return [named_item(dict(zip(columns, r, strict=True)), named, day) for r in cursor]


def _people(db: Database) -> dict[str, tuple[str, str]]:
    return {pid: (name, email) for pid, name, email in
            db.execute("SELECT id, name, email FROM people")}


def _digest(people: dict, key: str, person_id: str | None, role: str, subject: str,
            payload: dict, fallback: str = "") -> dict:
    name, address = people.get(person_id, (fallback, None)) if person_id else (fallback, None)
    return {"recipient": {"key": key, "name": name, "address": address or None, "role": role,
                          "person_id": person_id},
            "subject": subject, "payload": payload}
