"""The `timeline` read model: every event of every ticket as a row a person can read, with the
event as stored (`event_json`, in eventsourcing's JSON) for anything the columns leave out."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from domain.ticket import EVENT_LABELS
from projections.base import Item, Projection


def summary(e: Any) -> str:
    """One line of what happened, in the words of the ledger."""
    past = getattr(e, "past_reason", "")
    return _summary(e) + (f"（时限已过，原因：{past}）" if past else "")


def _summary(e: Any) -> str:
    name = type(e).__name__
    if name == "Opened":
        return e.title
    if name in ("Assigned", "Reassigned"):
        shared = f"，配合单位 {'、'.join(e.co_unit_ids)}" if e.co_unit_ids else ""
        return f"牵头单位 {e.lead_unit_id}{shared}，完成时限 {e.deadline}"
    if name == "ExtensionRequested":
        return f"申请延至 {e.new_deadline}：{e.reason}"
    if name == "DeadlineExtended":
        return f"时限延至 {e.new_deadline}：{e.reason}"
    if name == "Rectified":
        return e.measures + _doubts(getattr(e, "flags", None) or [])
    if name == "Acknowledged":
        return f"{e.unit_id} 已签收" + (f"：{e.note}" if e.note else "")
    if name == "Chased":
        return f"催办 {'、'.join(e.unit_ids)}" + (f"：{e.note}" if e.note else "")
    if name == "EvidenceAdded":
        return f"补充整改前照片 {len(e.evidence)} 份" + (f"：{e.note}" if e.note else "")
    if name == "InstructionReplied":
        return f"回复第{e.instruction}条批示：{e.text}"
    if name == "ReInspected":
        return "复查通过" + (f"：{e.findings}" if e.findings else "") if e.passed else (
            f"复查未通过，退回：{e.findings}")
    if name == "Reopened":
        return f"{e.findings}（新时限 {e.deadline}）"
    for field in ("reason", "text", "note", "findings"):
        if getattr(e, field, ""):
            return getattr(e, field)
    return ""


def _doubts(flags: list[dict]) -> str:
    """A rectification's doubtful photos, said in its line of the record."""
    if not flags:
        return ""
    return "（⚠ 照片存疑：" + "；".join(f"{f['name']} {f['reason']}" for f in flags) + "）"


class TimelineProjection(Projection):
    name = "timeline"
    version = 6     # 3: a rectification's doubtful photos, 签收, 催办, 补充照片, 批示落实 worded;
                    # 4: 交办 and 改派 name the co-responsible units; 5: a past deadline's reason;
                    # 6: timeline_at, for the log position of an instant (projections/asof.py)
    topics = ("domain.ticket:Ticket.",)
    tables = ("timeline",)
    query_indexes = {"timeline_ticket": "CREATE UNIQUE INDEX IF NOT EXISTS timeline_ticket "
                                        "ON timeline (ticket_id, version)",
                     "timeline_at": "CREATE INDEX IF NOT EXISTS timeline_at ON timeline (at)"}

    def create_tables(self, db: Database) -> None:
        db["timeline"].create(
            {"notification_id": int, "ticket_id": str, "version": int, "event": str,
             "label": str, "at": str, "by_login": str, "by_name": str, "role": str,
             "unit_id": str, "summary": str, "event_json": str},
            pk="notification_id")
        self.create_query_indexes(db)

    def apply(self, conn: sqlite3.Connection, items: Sequence[Item]) -> None:
        rows = []
        for item in items:
            if item.name not in EVENT_LABELS:
                raise self.unknown(item)
            event, by = item.event, item.event.by
            rows.append((item.n, item.aggregate, event.originator_version, item.name,
                         EVENT_LABELS[item.name], item.at, by["login"], by["name"], by["role"],
                         by.get("unit_id"), summary(event),
                         item.state.decode()))
        conn.executemany("INSERT INTO timeline VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
