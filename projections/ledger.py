"""Ledgers (台账) per county, per town (一镇一册) and per school (一校一案), in the column order a
county office uses. Rows are plain dicts keyed by the Chinese column names."""

from __future__ import annotations

import json
from datetime import date

from sqlite_utils import Database

from domain.indicators import indicators
from domain.values import State
from projections.queries import LIGHT_LABELS, TicketFilter, list_tickets

COLUMNS = ["序号", "问题编号", "镇街", "学校/单位", "问题描述", "对应指标", "发现时间", "整改措施",
           "牵头单位", "责任单位", "责任人", "包保领导", "完成时限", "整改状态", "销号时间",
           "红黄绿灯"]
ALL = 100_000   # a ledger is the whole list, not a page


def ledger(db: Database, today: date, *, town: str | None = None,
           school: str | None = None) -> list[dict]:
    """The county's ledger, or one town's, or one school's; cancelled tickets are left out."""
    rows = list_tickets(db, TicketFilter(town=town, unit=school), today, sort="town",
                        per_page=ALL).rows
    units = dict(db.execute("SELECT code, name FROM units").fetchall())
    people = dict(db.execute("SELECT id, name FROM people").fetchall())
    names = indicators()

    def unit_names(codes: list[str]) -> str:
        return "、".join(units.get(code, code) for code in codes)

    ledger_rows = []
    for row in (r for r in rows if r["state"] != State.CANCELLED):
        indicator = names.get(row["indicator_id"])
        ledger_rows.append({
            "序号": len(ledger_rows) + 1,
            "问题编号": row["number"],
            "镇街": units.get(row["town_id"], "全县") if row["town_id"] else "全县",
            "学校/单位": units.get(row["unit_id"], row["unit_id"]),
            "问题描述": row["title"] + (f"。{row['description']}" if row["description"] else ""),
            "对应指标": f"{indicator.seq} {indicator.name_zh}" if indicator else "",
            "发现时间": row["opened_at"][:10],
            "整改措施": row["measures"] or "",
            "牵头单位": units.get(row["lead_unit_id"], "") if row["lead_unit_id"] else "",
            "责任单位": unit_names(json.loads(row["co_unit_ids"])),
            "责任人": people.get(row["person_id"], "") if row["person_id"] else "",
            "包保领导": "、".join(people.get(p, p) for p in json.loads(row["leader_ids"])),
            "完成时限": row["deadline"] or "",
            "整改状态": State(row["state"]).label,
            "销号时间": (row["closed_at"] or "")[:10] if row["state"] == State.CLOSED else "",
            "红黄绿灯": LIGHT_LABELS[row["light"]],
        })
    return ledger_rows
