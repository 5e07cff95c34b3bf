"""Who is told of what happens to a ticket, at once: a pure policy over one recorded event, the
ticket as that event left it, and the directory. A follower of the log (scheduler/notices.py)
asks it, so nothing is told inside the command that made the event.

- 交办 and 改派: the heads of the lead unit and of every co-responsible unit, with the 交办意见
  (or the reason), the deadline and a link;
- 复查不通过 (returned), 同意延期 / 驳回延期, 重新整改: the heads of the responsible units;
- 领导批示: the heads of the responsible units and the office;
- 催办: the heads of the units chased;
- 批示落实情况: the leader who gave the 批示.

Each person is told once per event (a person heading two of the units hears once). A person
who chose a daily digest (domain/directory.py NOTIFY_MODES) is told in it instead: the notice
is kept back ("held") and the day's reminders run gathers what was held into one digest per
person (`gather`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from domain.clock import beijing
from domain.commands import COMMANDS, VERDICTS
from domain.directory import Directory, notify_mode
from domain.periods import day_label
from domain.telling import recipient
from domain.ticket import EVENT_LABELS
from domain.visibility import responsible_units

# event -> the command that records it (its catalogue entry names the fields) and the field
# that holds its own words
SAID = {
    "Assigned": ("assign", "note"), "Reassigned": ("reassign", "reason"),
    "ReInspected": ("reinspect", "findings"), "DeadlineExtended": ("extend_deadline", "reason"),
    "ExtensionRefused": ("refuse_extension", "reason"),
    "InstructionGiven": ("give_instruction", "text"), "Reopened": ("reopen", "findings"),
    "Chased": ("chase", "note"), "InstructionReplied": ("reply_instruction", "text"),
}
# event -> what the message is called (its subject's tag): as the timeline says, but a failed
# re-inspection is what it is to the unit, a return
TOLD = {name: EVENT_LABELS[name] for name in SAID} | {"ReInspected": VERDICTS["fail"]}
OFFICE_ROLE = "创建办"
UNIT_ROLE = "责任单位负责人"
LEADER_ROLE = "包保领导"


def told(name: str, event: Mapping[str, Any]) -> bool:
    """Whether an event of this name tells anyone (a passed re-inspection does not)."""
    return name in TOLD and not (name == "ReInspected" and event.get("passed"))


def tell(name: str, event: Mapping[str, Any], ticket: Mapping[str, Any], directory: Directory,
         day: date, *, link: str, county: str, office: Iterable[tuple[str | None, str | None]] = (),
         author: str | None = None) -> list[dict]:
    """The notices one event sends: each a recipient, a subject, the data its mail shows, and
    whether it is held for the recipient's daily digest. `ticket` is the ticket as the event
    left it; `office` the (person, unit) of each office account; `author` the person who gave
    the 批示 a reply answers."""
    if not told(name, event):
        return []
    people = _recipients(name, event, ticket, directory, day, office, author)
    base = _base(name, event, ticket, directory, link, county)
    notices = []
    for entry in people.values():
        who = entry["recipient"]
        person = directory.people.get(who["person_id"]) if who["person_id"] else None
        notices.append({
            "recipient": who,
            "subject": f"【{TOLD[name]}】{ticket['number']} {ticket['title']}"[:200],
            "payload": base | {"message": _message(name, event, ticket, directory,
                                                   entry["units"])},
            "held": person is not None and notify_mode(person) == "daily"})
    return notices


def _recipients(name: str, event: Mapping[str, Any], ticket: Mapping[str, Any],
                directory: Directory, day: date, office: Iterable[tuple[str | None, str | None]],
                author: str | None) -> dict[str, dict]:
    """Recipient key -> the recipient and the ticket's units they are told for; a person
    heading two of the units is one recipient."""
    people: dict[str, dict] = {}

    def add(person: str | None, unit: str | None, role: str) -> None:
        fallback = f"{directory.unit_name(unit)}负责人" if unit else ""
        key = f"person-{person}" if person else f"unit-{unit}"
        entry = people.setdefault(key, {"recipient": recipient(directory, key, person, role,
                                                               fallback), "units": []})
        if unit and unit not in entry["units"]:
            entry["units"].append(unit)

    if name == "InstructionReplied":
        if author:
            add(author, None, LEADER_ROLE)
        return people
    for unit in event["unit_ids"] if name == "Chased" else responsible_units(ticket):
        add(directory.head_on(unit, day), unit, UNIT_ROLE)
    if name == "InstructionGiven":
        for person, unit in office:     # the account's person, else the head of its unit
            head = directory.head_on(unit, day) if unit else None
            if person or head:
                add(person or head, None, OFFICE_ROLE)
            elif unit:
                add(None, unit, OFFICE_ROLE)
    return people


def _base(name: str, event: Mapping[str, Any], ticket: Mapping[str, Any],
          directory: Directory, link: str, county: str) -> dict:
    by = event.get("by") or {}
    return {"kind": "notice", "event": name, "label": TOLD[name], "county": county,
            "number": ticket["number"], "title": ticket["title"],
            "place": directory.unit_name(ticket["unit_id"]), "link": link,
            "by": by.get("name", ""), "at": _text(event.get("timestamp")),
            "facts": [[label, value] for label, value in _facts(name, event, ticket, directory)
                      if value]}


def _message(name: str, event: Mapping[str, Any], ticket: Mapping[str, Any],
             directory: Directory, units: list[str]) -> str:
    """The one sentence that says what happened, to this recipient."""
    deadline = _text(ticket.get("deadline"))
    lead = ticket.get("lead_unit_id")
    if name in ("Assigned", "Reassigned"):
        roles = "、".join(f"{directory.unit_name(u)}（{'牵头' if u == lead else '配合'}）"
                         for u in units)
        verb = "交办" if name == "Assigned" else "改派"
        return (f"问题 {ticket['number']} 已{verb}给 {roles or '贵单位'}，完成时限 {deadline}。"
                "请登录系统签收，并在时限内整改、上传整改材料。")
    return {
        "ReInspected": "复查未通过，请按复查意见重新整改后再提交。",
        "DeadlineExtended": f"延期申请已同意，新的完成时限为 {deadline}。",
        "ExtensionRefused": f"延期申请未获同意，请按原完成时限 {deadline} 完成整改。",
        "InstructionGiven": f"{(event.get('by') or {}).get('name', '领导')}对此问题作出批示，"
                            "请抓紧落实，并在系统中回复落实情况。",
        "Reopened": f"月回查发现问题反弹，已重新整改，完成时限 {deadline}。",
        "Chased": "创建办催办此问题：请尽快签收，抓紧整改。",
        "InstructionReplied": f"{(event.get('by') or {}).get('name', '')}回复了您的第 "
                              f"{event.get('instruction')} 条批示的落实情况。",
    }[name]


def _facts(name: str, event: Mapping[str, Any], ticket: Mapping[str, Any],
           directory: Directory) -> list[tuple[str, str]]:
    """The lines under the message: what the event said, labelled as the form that said it."""
    command, field = SAID[name]
    said = (COMMANDS[command].field(field).label, event.get(field) or "无")
    assign = COMMANDS["assign"]
    deadline = (assign.field("deadline").label, _text(ticket.get("deadline")))
    if name in ("Assigned", "Reassigned"):
        co = "、".join(directory.unit_name(u) for u in ticket.get("co_unit_ids") or [])
        return [said, deadline,
                (assign.field("lead_unit_id").label, directory.unit_name(ticket.get("lead_unit_id"))),
                (assign.field("co_unit_ids").label, co)]
    if name == "DeadlineExtended":
        return [(COMMANDS[command].field("new_deadline").label, deadline[1]), said]
    if name == "InstructionGiven":
        return [said, ("批示领导", (event.get("by") or {}).get("name")), deadline]
    if name == "InstructionReplied":
        instructions = ticket.get("instructions") or []
        n = event.get("instruction") or 0
        given = instructions[n - 1]["text"] if 0 < n <= len(instructions) else ""
        return [(COMMANDS["give_instruction"].field("text").label, given), said,
                ("回复单位", (event.get("by") or {}).get("name"))]
    return [said, deadline]


def gather(held: list[dict], day: date, county: str) -> list[dict]:
    """The day's digests: the notices held for each person who chose one (each a delivery as
    recorded, oldest first), one digest per person."""
    by_person: dict[str, list[dict]] = {}
    for notice in held:
        by_person.setdefault(notice["recipient"]["key"], []).append(notice)
    digests = []
    for _, notices in sorted(by_person.items()):
        digests.append({
            "recipient": notices[-1]["recipient"],
            "subject": f"【每日汇总】{county}问题销号：今日消息 {len(notices)} 条"
                       f"（{day_label(day, year=True)}）",
            "payload": {"kind": "notice_digest", "day": day.isoformat(), "county": county,
                        "notices": [{"id": n["id"], "subject": n["subject"],
                                     "payload": n["payload"]} for n in notices]}})
    return digests


def _text(value: Any) -> str:
    """A day as 2026-11-02, a moment as Beijing 2026-11-02 09:30."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return beijing(value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat() if isinstance(value, date) else str(value)
