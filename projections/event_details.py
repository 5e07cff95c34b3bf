"""Every field a ticket event carries, in the words of the form it came from (#13): a timeline
entry shows the office's 交办意见, the co-responsible units, the person, reasons, findings and
files, not only the event's name, and what changed on the ticket (state, deadline, units, person,
leaders) before and after it, from the ticket's versions (`ticket_history`)."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from domain.commands import COMMANDS, OPEN, VERDICTS
from domain.indicators import indicators
from domain.values import State

# The command each event records, whose field labels name the event's fields.
COMMAND_OF = {
    "Opened": OPEN, "Assigned": COMMANDS["assign"], "Reassigned": COMMANDS["reassign"],
    "ExtensionRequested": COMMANDS["request_extension"],
    "DeadlineExtended": COMMANDS["extend_deadline"],
    "ExtensionRefused": COMMANDS["refuse_extension"], "Rectified": COMMANDS["rectify"],
    "ReInspected": COMMANDS["reinspect"], "Closed": COMMANDS["close"],
    "Reopened": COMMANDS["reopen"], "Cancelled": COMMANDS["cancel"],
    "Commented": COMMANDS["comment"], "InstructionGiven": COMMANDS["give_instruction"],
    "ProgressChecked": COMMANDS["check_progress"], "Acknowledged": COMMANDS["acknowledge"],
    "Chased": COMMANDS["chase"], "RecheckHeld": COMMANDS["hold"],
    "EvidenceAdded": COMMANDS["add_evidence"],
    "InstructionReplied": COMMANDS["reply_instruction"],
}
# Fields an event records that no form asks for.
RECORDED = {"overdue_days": "延期时已逾期天数", "flags": "照片存疑", "unit_ids": "催办单位",
            "unit_id": "签收单位", "town_id": "所在镇街"}
LEFT_OUT = {"by", "timestamp", "originator_id", "originator_version", "originator_topic",
            "number", "round"}
# What a change of version shows, in the ledger's words.
CHANGED = {"state": "状态", "deadline": "完成时限", "pending_deadline": "申请延至",
           "lead_unit_id": "牵头单位", "co_unit_ids": "配合责任单位", "person_id": "责任人",
           "leader_ids": "包保领导"}


def _label(event: str, name: str) -> str:
    command = COMMAND_OF[event]
    if name == "unit_id" and event == "Opened":
        return command.field(name).label
    if name in RECORDED:
        return RECORDED[name]
    return next((f.label for f in command.fields if f.name == name), name)


def _plain(value: Any) -> Any:
    """A value as eventsourcing's JSON transcoder stored it (a date as {"_type_", "_data_"})."""
    return value["_data_"] if isinstance(value, dict) and "_data_" in value else value


def details(event: str, stored: str) -> list[dict]:
    """The event's own fields, in form order: {"label", "value", "kind"}, where kind is "text",
    "units" (codes), "files" (stored references), "flags" or "verdict"; empty ones left out."""
    fields = {k: _plain(v) for k, v in json.loads(stored).items() if k not in LEFT_OUT}
    order = [f.name for f in COMMAND_OF[event].fields]
    found = []
    for name in sorted(fields, key=lambda n: order.index(n) if n in order else len(order)):
        value = fields[name]
        if value in (None, "", [], {}):
            continue
        if name == "passed":
            value, kind = VERDICTS["pass" if value else "fail"], "verdict"
        elif name == "evidence":
            kind = "files"
        elif name == "flags":
            kind = "flags"
        elif isinstance(value, list) or name.endswith(("unit_id", "person_id")):
            kind, value = "units", value if isinstance(value, list) else [value]
        else:
            kind, value = "text", _words(event, name, value)
        found.append({"label": _label(event, name), "value": value, "kind": kind})
    return found


def _words(event: str, name: str, value: Any) -> str:
    """A code as its form said it: a category, severity or source by its label, an indicator
    by its number and name."""
    spec = next((f for f in COMMAND_OF[event].fields if f.name == name), None)
    if spec is not None and spec.kind == "choice":
        return next((m.label for m in spec.choices if m.value == value), str(value))
    if spec is not None and spec.kind == "indicator" and value in indicators():
        return f"{indicators()[value].seq} {indicators()[value].name_zh}"
    return str(value)


def changes(db: Database, ticket_id: str) -> dict[int, list[dict]]:
    """What each version changed on the ticket, by version: {"label", "before", "after",
    "kind"} ("units" for codes, else "text"), from the ticket's stored versions."""
    columns = ", ".join(CHANGED)
    rows = db.execute(f"SELECT version, {columns} FROM ticket_history WHERE id = ? "
                      "ORDER BY valid_from", (ticket_id,)).fetchall()
    found: dict[int, list[dict]] = {}
    for before, after in zip(rows, rows[1:], strict=False):
        found[after[0]] = [
            _change(name, old, new)
            for name, old, new in zip(CHANGED, before[1:], after[1:], strict=True) if old != new]
    return found


def _change(name: str, old: Any, new: Any) -> dict:
    if name == "state":
        return {"label": CHANGED[name], "before": State(old).label, "after": State(new).label,
                "kind": "text"}
    if name in ("co_unit_ids", "leader_ids"):
        return {"label": CHANGED[name], "before": json.loads(old or "[]"),
                "after": json.loads(new or "[]"), "kind": "units"}
    if name in ("lead_unit_id", "person_id"):
        return {"label": CHANGED[name], "before": [old] if old else [],
                "after": [new] if new else [], "kind": "units"}
    return {"label": CHANGED[name], "before": old or "", "after": new or "", "kind": "text"}
