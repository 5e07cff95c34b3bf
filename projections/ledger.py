"""Ledgers (台账) per county, per town (一镇一册) and per school (一校一案), in the column order a
county office uses. Rows are plain dicts keyed by the Chinese column names.

Names are looked up in SQL and rows are built from tuples, since a town's ledger can run to
thousands of rows; a page of it is what a screen shows, the whole of it what an export writes.
"""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from domain.indicators import indicators
from domain.lights import Light, light_params, light_sql, overdue_sql
from domain.values import State
from domain.visibility import Sight

COLUMNS = ["序号", "问题编号", "镇街", "学校/单位", "问题描述", "对应指标", "发现时间", "整改措施",
           "牵头单位", "责任单位", "责任人", "包保领导", "完成时限", "逾期天数", "整改状态", "复查人",
           "复查时间", "复查意见", "销号时间", "红黄绿灯"]
# The latest re-inspection's inspector, day and findings, in one text (a unit separator
# between them).
REINSPECTED = """(SELECT r.by_name || char(31) || substr(r.at, 1, 10) || char(31)
        || coalesce(json_extract(r.event_json, '$.findings'), '')
        || CASE WHEN json_extract(r.event_json, '$.passed') THEN char(31) || '通过'
                ELSE char(31) || '不通过' END
        FROM timeline r WHERE r.ticket_id = t.id AND r.event = 'ReInspected'
        ORDER BY r.version DESC LIMIT 1)"""
SELECT = f"""
SELECT t.number, coalesce(town.name, '全县'), coalesce(place.name, t.unit_id),
       CASE WHEN t.description = '' THEN t.title
            WHEN instr(t.description, t.title) > 0 THEN t.description
            ELSE t.title || '。' || t.description END,
       t.indicator_id, substr(t.opened_at, 1, 10), coalesce(t.measures, ''),
       coalesce(lead.name, ''),
       (SELECT group_concat(u.name, '、') FROM json_each(t.co_unit_ids) j
        JOIN units u ON u.code = j.value),
       coalesce(person.name, ''),
       (SELECT group_concat(coalesce(p.name, j.value), '、') FROM json_each(t.leader_ids) j
        LEFT JOIN people p ON p.id = j.value),
       coalesce(t.deadline, ''), t.state,
       CASE WHEN t.state = 'closed' THEN substr(t.closed_at, 1, 10) ELSE '' END,
       {light_sql()}, {overdue_sql()}, {REINSPECTED}
FROM tickets t
LEFT JOIN units town ON town.code = t.town_id
LEFT JOIN units place ON place.code = t.unit_id
LEFT JOIN units lead ON lead.code = t.lead_unit_id
LEFT JOIN people person ON person.id = t.person_id
"""


def ledger(db: Database, today: date, warn_days: int, *, sight: Sight, town: str | None = None,
           school: str | None = None, page: int | None = None,
           per_page: int = 200) -> list[dict]:
    """The county's ledger, or one town's, or one school's, ordered by town, school and number,
    with each light for `today`: the tickets `sight` (a user's) sees, less the cancelled ones.
    With `page`, only that page (序号 still counts from the start of the whole ledger)."""
    where, params = ["t.state != 'cancelled'"], light_params(today, warn_days)
    if town:
        where.append("t.town_id = :town")
        params["town"] = town
    if school:
        where.append("(t.unit_id = :school OR t.id IN (SELECT ticket_id FROM ticket_units "
                     "WHERE unit_id = :school))")
        params["school"] = school
    clause, sight_params = sight.where()
    where.append(clause)
    params |= sight_params
    sql = f"{SELECT} WHERE {' AND '.join(where)} ORDER BY t.town_id, t.unit_id, t.number"
    first = 0
    if page is not None:
        first = (max(1, page) - 1) * per_page
        sql += " LIMIT :limit OFFSET :offset"
        params |= {"limit": per_page, "offset": first}
    names = indicators()
    rows = []
    for serial, row in enumerate(db.execute(sql, params), start=first + 1):
        indicator = names.get(row[4])
        by, day, findings, verdict = (row[16].split("\x1f") if row[16] else ("", "", "", ""))
        rows.append(dict(zip(COLUMNS, (
            serial, row[0], row[1], row[2], row[3],
            f"{indicator.seq} {indicator.name_zh}" if indicator else "", row[5], row[6], row[7],
            row[8] or "", row[9], row[10] or "", row[11], row[15] or "",
            State(row[12]).label, by, day, f"{verdict}：{findings}" if findings else verdict,
            row[13], Light(row[14]).label), strict=True)))
    return rows
