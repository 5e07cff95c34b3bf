"""达标评估 (#14): a 学年's school figures — the Excel template listing the directory's schools,
a filled one uploaded (taken whole, or refused with every problem listed) — and the 自评报告 they
give: the county's verdict, the shortfalls with their tickets, what it would take per town, the
failing CVs and the schools that move them, the checklist the office marks, and what changed.
The office imports and marks; the auditor reads."""

from __future__ import annotations

import hashlib
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile
from starlette.responses import Response

from domain.checklist import GROUPS, MARKS
from domain.clock import beijing_date
from domain.errors import DomainError, InvalidInputError
from domain.school_figures import FIGURES
from domain.school_year import parse_school_year, year_label
from domain.standard import CV_RULES, LEVEL_LABELS, RESOURCES, overlays
from domain.values import Role
from projections.queries import open_by_indicator, visible_numbers
from web.deps import App, Config, Look, PostedForm, ReadDb, allow
from web.errors import status_of
from web.readiness import SHORT_NAMES, needs_text, readiness, report_sheets
from web.templating import flash, render
from web.users import User

router = APIRouter()
Office = Annotated[User, Depends(allow(Role.OFFICE))]
# The verdict and its shortfalls are the county's business: every role but a unit reads them
# (a ticket is linked only for one who may see it). The office alone changes anything.
READERS = (Role.OFFICE, Role.AUDITOR, Role.INSPECTOR, Role.LEADER)
Reader = Annotated[User, Depends(allow(*READERS))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_ROWS = 500


def school_year(app, text: str) -> int:
    """The 学年 asked for, or the one running today (a 学年 begins on 1 September)."""
    if text:
        return parse_school_year(text)
    today = beijing_date(app.now())
    return today.year if today.month >= 9 else today.year - 1


def download(body: bytes, name: str) -> Response:
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


def _schools(app) -> list[dict]:
    return [u for u in app.directory().units.values() if u["kind"] == "school"]


@router.get("/standard")
def standard_page(request: Request, app: App, look: Look, db: ReadDb, user: Reader,
                  year: str = ""):
    """A 学年's 自评报告, with the template, the upload and the checklist for the office."""
    return _page(request, app, look, db, user, school_year(app, year))


def _page(request: Request, app, look, db, user: User, year: int, *,
          problems: list[str] | None = None, failed: dict | None = None,
          status_code: int = 200) -> Response:
    """The page; `failed` is a checklist form refused, drawn again open with what was typed."""
    r = readiness(app, year)
    rows = sorted(r.figures.rows.items())
    numbers = list(r.figures.shortfalls.values())
    table = r.judged.table
    return render(request, "standard.html", {
        "r": r, "judged": r.judged.evaluation, "rules": table, "resources": RESOURCES,
        "cv_limits": {part: table[CV_RULES[part]].threshold(part) for part in LEVEL_LABELS},
        "weighted": app.cv_weighted, "marks": MARKS, "groups": GROUPS, "needs_text": needs_text,
        "short_names": SHORT_NAMES,
        "overlay_labels": {name: o["label"] for name, o in overlays().items()},
        "year": year, "label": year_label(year), "figures": FIGURES, "parts": LEVEL_LABELS,
        "rows": [(tuple(k.split("|")), v) for k, v in rows[:SHOWN_ROWS]], "total": len(rows),
        "imports": r.figures.imports, "schools": len(_schools(app)), "names": look.names,
        "problems": problems, "failed": failed or {},
        "visible": set(numbers) if user.has(Role.OFFICE, Role.AUDITOR)
        else visible_numbers(db, numbers, user.sight(app)),
        "problems_title": "评估项目未保存" if failed else "",
        "problems_hint": "请在下方该项目中修改后重新保存。" if failed else "",
        "may_import": user.has(Role.OFFICE)}, status_code=status_code)


@router.get("/standard/template")
def figures_template(app: App, config: Config, user: Office, year: str = ""):
    """The year's Excel template, listing every school of the directory a row per 学段, with
    the figures the year holds already."""
    year = school_year(app, year)
    label = year_label(year)
    return download(config.figures_files.template(_schools(app), f"{label}学校办学条件数据",
                                                  app.school_figures(year)["rows"]),
                    f"{label}学校数据模板.xlsx")


@router.get("/standard/report")
def readiness_report(app: App, config: Config, user: Reader, year: str = ""):
    """The 自评报告 as a workbook that prints on A4."""
    r = readiness(app, school_year(app, year))
    title = f"{app.directory().county_name}义务教育优质均衡发展{r.label}自评报告"
    return download(config.figures_files.report(title, report_sheets(r)),
                    f"{r.label}自评报告.xlsx")


@router.post("/standard/import")
def figures_import(request: Request, app: App, config: Config, look: Look, db: ReadDb,
                   user: Office, form: PostedForm):
    """A filled template: taken whole, or the page again with every problem listed."""
    year_text, upload = form.get("year"), form.get("file")
    year = school_year(app, "")
    try:
        year = school_year(app, year_text if isinstance(year_text, str) else "")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInputError("请选择填好的 Excel 工作簿")
        data = upload.file.read()
        rows = config.figures_files.read(data)
        taken = app.import_figures(user.login, year, rows,
                                   sha256=hashlib.sha256(data).hexdigest(),
                                   file_name=upload.filename, candidates=open_by_indicator(db))
    except DomainError as error:     # a refused workbook lists every problem
        return _page(request, app, look, db, user, year,
                     problems=getattr(error, "problems", [error.message]),
                     status_code=status_of(error))
    blank = sum(row.blank for row in rows)
    if taken:
        judged = app.judgement(year)[1].judgements[-1]
        flash(request, f"已导入 {len(rows) - blank} 行数据"
                       + (f"（{blank} 行未填写，未导入）" if blank else "")
                       + f"；新登记问题 {judged['opened']} 项，沿用已有问题 {judged['adopted']} 项，"
                         f"已达标待复查 {judged['met']} 项")
    else:
        flash(request, "这份工作簿已导入过，数据没有变化")
    return RedirectResponse(f"/standard?year={year}", status_code=303)


@router.post("/standard/checklist")
def mark_item(request: Request, app: App, look: Look, db: ReadDb, user: Office,
              form: PostedForm):
    """One checklist item marked (or valued) by the office; the year judged again."""
    text = {k: v if isinstance(v, str) else "" for k, v in form.items()}
    year = school_year(app, "")
    try:
        year = school_year(app, text.get("year", ""))
        app.mark_item(user.login, year, text.get("item", ""), mark=text.get("mark") or None,
                      value=text.get("value") or None, evidence=text.get("evidence", ""),
                      note=text.get("note", ""), candidates=open_by_indicator(db))
    except DomainError as error:
        return _page(request, app, look, db, user, year, problems=[error.message],
                     failed={"item": text.get("item", ""), "entered": text,
                             "message": error.message}, status_code=status_of(error))
    flash(request, "已记录评估结论")
    return RedirectResponse(f"/standard?year={year}#checklist", status_code=303)
