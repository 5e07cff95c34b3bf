"""台账导出: the county's, a town's (一镇一册) or a school's (一校一案) ledger as Excel or CSV."""

from __future__ import annotations

from itertools import groupby
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from domain.errors import OutOfScopeError, UnknownReferenceError
from domain.lights import Light
from domain.values import State
from domain.visibility import Sight
from projections.directory_views import units_of_kind
from projections.ledger import ledger
from web.deps import App, Config, Look, ReadDb, SignedIn
from web.history import day_of, moment_of
from web.templating import render

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _may_export(sight: Sight, of: str, code: str) -> bool:
    """The county's ledger for those who see everything; a town's or a school's for those who
    answer for it (and then only the rows they see)."""
    return sight.everything if of == "county" else sight.answers_for(code)


@router.get("/ledger")
def ledger_page(request: Request, app: App, db: ReadDb, look: Look, user: SignedIn):
    """What one may export: the county, each town and each school, as Excel or CSV."""
    sight = user.sight(app)
    towns = [t for t in units_of_kind(db, "town") if _may_export(sight, "town", t["code"])]
    schools = [s for s in units_of_kind(db, "school")        # 一校一案 is for schools
               if _may_export(sight, "school", s["code"])]
    return render(request, "ledger.html", {
        "county": _may_export(sight, "county", ""), "towns": towns, "schools": schools,
        "names": look.names})


@router.get("/ledger/export")
def export(request: Request, app: App, db: ReadDb, look: Look, config: Config,
           user: SignedIn, of: Literal["county", "town", "school"] = "county", code: str = "",
           format: Literal["xlsx", "csv"] = "xlsx"):
    """The ledger file, named for what it holds and the day it was taken."""
    label = look.names
    if of != "county" and code not in label:
        raise UnknownReferenceError(f"未知的单位：{code[:40]}")
    sight = user.sight(app)
    if not _may_export(sight, of, code):
        raise OutOfScopeError("您无权导出该台账")
    today, moment = day_of(request, app.today()), moment_of(request)
    rows = ledger(db, today, config.warn_days, sight=sight,
                  **({of: code} if of != "county" else {}))
    county = config.county_name
    place = county if of == "county" else label[code]
    stands = (f"历史视图：{moment.label}" if moment
              else f"截至{today.year}年{today.month}月{today.day}日")
    title = f"{county}问题销号台账（{stands}）"
    taken = f"{moment.at:%Y%m%d_%H%M}_历史视图" if moment else f"{today:%Y%m%d}"
    filename = f"{place}问题销号台账_{taken}.{format}"
    if format == "csv":
        body, media = config.ledger_files.csv(rows, title if moment else None), \
            "text/csv; charset=utf-8"
    else:
        body, media = config.ledger_files.workbook(
            _sheets(of, place, rows), title, _summary(rows) if of == "town" else None), XLSX
    return Response(body, media_type=media, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


COUNTY_ITEMS, TOWN_ITEMS = "县级统筹事项", "镇街本级事项"


def _sheets(of: str, place: str, rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """County: the whole, a sheet per town, then the county-level items; town (一镇一册): a
    sheet per school, then the town's own items; school (一校一案): one. Each sheet is named
    for what it holds."""
    if of == "school":
        return [(place, rows)]
    key = "学校/单位" if of == "town" else "镇街"
    own = place if of == "town" else "全县"     # the rows that are the town's or county's own
    groups = [(name, list(group)) for name, group in groupby(rows, key=lambda r: r[key])]
    per = [(name, group) for name, group in groups if name != own]
    mine = [row for name, group in groups if name == own for row in group]
    return (([("全县台账", rows)] if of == "county" else []) + per
            + ([(COUNTY_ITEMS if of == "county" else TOWN_ITEMS, mine)] if mine else []))


SUMMARY = ["序号", "学校/单位", "问题总数", "已销号", "整改中", "待复查", "逾期未整改", "销号率"]


def _summary(rows: list[dict]) -> tuple[list[str], list[list]]:
    """一镇一册's first sheet: each school's count of problems, closed, in hand, awaiting
    re-inspection and overdue, and its closure rate."""
    table = []
    for i, (name, group) in enumerate(groupby(rows, key=lambda r: r["学校/单位"]), start=1):
        group = list(group)
        closed = sum(r["整改状态"] == State.CLOSED.label for r in group)
        table.append([i, name, len(group), closed,
                      sum(r["整改状态"] == State.ASSIGNED.label for r in group),
                      sum(r["整改状态"] == State.RECTIFIED.label for r in group),
                      sum(r["红黄绿灯"] == Light.RED.label for r in group),
                      f"{closed / len(group):.0%}"])
    return SUMMARY, table
