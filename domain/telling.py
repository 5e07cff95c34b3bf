"""Who is told what by the cycle: a pure policy over the directory and the items the read models
name. Each 包保 leader gets the county's totals and ranking with the items they see (weekly), and
the overdue ones as an escalation (daily, on a day when some are new to them); each responsible
unit's head gets the items their unit sees (its overdue and coming items: all of them weekly,
what is new since their last reminder daily). Who sees an item is decided by
domain/visibility.py, as on every page.

A digest is a recipient (key, name, address, role, person), a subject, and the data its mail
shows; the delivery keeps it, so the record says what each person was told, as it was told.
"""

from __future__ import annotations

from datetime import date

from domain.directory import Directory
from domain.periods import Week, day_label
from domain.values import Role
from domain.visibility import responsible_units, sight_of

SIGN_REMINDER = "sign_reminder"    # the office reminded of a bulletin's draft left unsigned
NAMED_LIMIT = 200   # items a bulletin or a leader's digest names; the rest are counted


# The lists a bulletin or a message names tickets in, and what each is called in a record of
# who was told what about a ticket ("列入第8期周通报（逾期未整改）").
NAMED_PARTS = {"overdue": "逾期未整改", "due_next_week": "下周到期", "due_soon": "即将到期"}


def named_in(content: dict) -> list[tuple[str, str]]:
    """Every ticket a bulletin's content or a message's payload names, with the part naming
    it: (number, part label), in the order printed. A notice names its ticket; a day's
    digest of notices, each notice's."""
    if content.get("kind") == "notice":
        return [(content["number"], content.get("label") or "即时通知")]
    if content.get("kind") == "notice_digest":
        return [pair for n in content.get("notices", []) for pair in named_in(n["payload"])]
    found = []
    for part, label in NAMED_PARTS.items():
        items = content.get(part) or []
        for item in items["items"] if isinstance(items, dict) else items:
            found.append((item["number"], label))
    return found


def named_first(items: list[dict], limit: int = NAMED_LIMIT) -> dict:
    """A list as a 通报 prints it: the first `limit` (the longest overdue, or the soonest due)
    and how many more there are (the 问题清单 lists them all)."""
    return {"items": items[:limit], "more": max(0, len(items) - limit)}


def leader_weekly(directory: Directory, bulletin: dict, number: int, county: str,
                  day: date) -> list[dict]:
    """Each leader's weekly digest: the county's totals and ranking, their towns' rows, and the
    overdue items and items due next week that they see. `bulletin` holds whole lists."""
    digests = []
    for leader, sight, towns, units in _leaders(directory, day):
        digests.append(_digest(
            directory, f"leader-{leader}", leader, "包保领导",
            f"【周通报 第{number}期】{county}问题销号周报（{Week.parse(bulletin['week']).words}）",
            {"kind": "leader_weekly", "week": bulletin["week"], "number": number,
             "county": county, "totals": bulletin["totals"], "all_towns": bulletin["towns"],
             "towns": [t for t in bulletin["towns"] if t["town_id"] in towns], "units": units,
             "overdue": named_first([i for i in bulletin["overdue"] if sight.sees(i)]),
             "due_next_week": named_first([i for i in bulletin["due_next_week"]
                                           if sight.sees(i)])}))
    return digests


def unit_weekly(directory: Directory, bulletin: dict, number: int, county: str,
                day: date) -> list[dict]:
    """Each unit that leads or shares an item of the bulletin: its own overdue items and items
    due next week, to the person heading it."""
    coming = {"overdue": bulletin["overdue"], "due_soon": bulletin["due_next_week"]}
    return _unit_digests(directory, coming, day, county, f"周通报 第{number}期", "下周到期")


def sign_reminders(directory: Directory, office: list[tuple[str | None, str | None]],
                   draft: dict, county: str, day: date, base_url: str = "") -> list[dict]:
    """签发提醒: to each office account's person (else the head of its unit), a bulletin's
    draft (`draft`: its period and 期) still waiting to be signed."""
    reminders: dict[str, dict] = {}
    for person, unit in office:
        who = person or (directory.head_on(unit, day) if unit else None)
        key = f"signer-{who}" if who else f"signer-unit-{unit}"
        if who or unit:
            reminders.setdefault(key, _digest(
                directory, key, who, "创建办",
                f"【待签发】{county}周通报 第{draft['number']}期草稿尚未签发",
                {"kind": SIGN_REMINDER, "week": draft["period"], "number": draft["number"],
                 "county": county, "drafted_at": draft["issued_at"],
                 "link": f"{base_url}/bulletins/{draft['period']}" if base_url else ""},
                fallback=directory.unit_name(unit) if unit else ""))
    return list(reminders.values())


def daily(directory: Directory, items: list[dict], day: date, warn_days: int, county: str,
          last: dict[str, dict] | None = None) -> list[dict]:
    """The day's reminders from the open items due by `day` + `warn_days`: 到期提醒 to each
    unit that sees any (to the person heading it), and 逾期督办 to each leader who sees
    overdue ones. Each names only what is new since that recipient's last reminder (`last`:
    recipient key -> what that mail knew, as `known`), and says how many are still open; a
    recipient with nothing new is not written to that day."""
    coming = {"overdue": [i for i in items if i["days_overdue"] > 0],
              "due_soon": [i for i in items if i["days_overdue"] == 0]}
    last = last or {}
    return (_unit_reminders(directory, coming, day, county, f"{warn_days} 天内到期", last)
            + _escalations(directory, coming["overdue"], day, county, last))


def known(overdue: list[dict], due_soon: list[dict] = ()) -> dict:
    """What a reminder leaves its recipient knowing: the numbers open, by part."""
    return {"overdue": [i["number"] for i in overdue], "due_soon": [i["number"] for i in due_soon]}


def _new(items: list[dict], before: set[str]) -> list[dict]:
    return [i for i in items if i["number"] not in before]


def _unit_reminders(directory: Directory, coming: dict[str, list[dict]], day: date, county: str,
                    due_label: str, last: dict[str, dict]) -> list[dict]:
    digests = []
    for code, theirs in _by_unit(coming).items():
        key = f"unit-{code}"
        before = last.get(key, {})
        told_overdue = set(before.get("overdue", []))
        overdue = _new(theirs["overdue"], told_overdue)
        due_soon = _new(theirs["due_soon"], told_overdue | set(before.get("due_soon", [])))
        if not overdue and not due_soon:
            continue   # nothing new for them since their last reminder
        name = directory.unit_name(code)
        digests.append(_digest(
            directory, key, directory.head_on(code, day), "责任单位负责人",
            f"【到期提醒】{county}问题销号：{name}"
            + "、".join(part for part in (overdue and f"新增逾期 {len(overdue)} 项",
                                           due_soon and f"{due_label} {len(due_soon)} 项") if part)
            + f"（{day_label(day, year=True)}）",
            {"kind": "unit_daily", "day": day.isoformat(), "county": county, "unit": name,
             "label": "到期提醒", "due_label": due_label, "since": before.get("day"),
             "overdue": overdue, "due_soon": due_soon,
             "open": {"overdue": len(theirs["overdue"]), "due_soon": len(theirs["due_soon"])},
             "known": known(theirs["overdue"], theirs["due_soon"])},
            fallback=f"{name}负责人"))
    return digests


def _escalations(directory: Directory, overdue: list[dict], day: date, county: str,
                 last: dict[str, dict]) -> list[dict]:
    digests = []
    for leader, sight, _, units in _leaders(directory, day):
        key = f"leader-{leader}"
        before = last.get(key, {})
        theirs = [i for i in overdue if sight.sees(i)]
        new = _new(theirs, set(before.get("overdue", [])))
        if new:
            digests.append(_digest(
                directory, key, leader, "包保领导",
                f"【逾期督办】{county}问题销号：包保镇街新增逾期 {len(new)} 项，"
                f"共逾期 {len(theirs)} 项（{day_label(day, year=True)}）",
                {"kind": "leader_daily", "day": day.isoformat(), "county": county,
                 "units": units, "since": before.get("day"), "overdue": new,
                 "open": len(theirs), "known": known(theirs)}))
    return digests


def _by_unit(coming: dict[str, list[dict]]) -> dict[str, dict[str, list]]:
    """Each unit that leads or shares an item, with its own items by part."""
    by_unit: dict[str, dict[str, list]] = {}
    for part, items in coming.items():
        for item in items:
            for unit in responsible_units(item):
                by_unit.setdefault(unit, {"overdue": [], "due_soon": []})[part].append(item)
    return dict(sorted(by_unit.items()))


def _unit_digests(directory: Directory, coming: dict[str, list[dict]], day: date, county: str,
                  label: str, due_label: str) -> list[dict]:
    digests = []
    for code, theirs in _by_unit(coming).items():
        name = directory.unit_name(code)
        digests.append(_digest(
            directory, f"unit-{code}", directory.head_on(code, day), "责任单位负责人",
            f"【{label}】{county}问题销号：{name}待办事项（{day_label(day, year=True)}）",
            {"kind": "unit_list", "day": day.isoformat(), "county": county, "unit": name,
             "label": label, "due_label": due_label, **theirs},
            fallback=f"{name}负责人"))
    return digests


def _leaders(directory: Directory, day: date):
    """Each leader answering for a town or school on `day`, by id: their sight, the towns
    their 包保 lies in (for the ranking rows), and the names of what they 包保."""
    for leader in sorted(directory.leaders_with_baobao(day)):
        targets = set(directory.baobao_targets(leader, day))
        sight = sight_of([Role.LEADER], None, leader, directory, day)
        towns = {directory.town_of(code) for code in targets}
        names = [u["name"] for code, u in directory.units.items() if code in targets]
        yield leader, sight, towns, names


def recipient(directory: Directory, key: str, person_id: str | None, role: str,
              fallback: str = "") -> dict:
    """Who a message goes to: the person's name and address as the directory has them (a unit
    with no head: `fallback` as the name, and no address)."""
    person = directory.people.get(person_id) if person_id else None
    name, address = (person["name"], person["email"]) if person else (fallback, None)
    return {"key": key, "name": name, "address": address or None, "role": role,
            "person_id": person_id}


def _digest(directory: Directory, key: str, person_id: str | None, role: str, subject: str,
            payload: dict, fallback: str = "") -> dict:
    return {"recipient": recipient(directory, key, person_id, role, fallback),
            "subject": subject, "payload": payload}
