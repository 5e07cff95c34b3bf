"""达标评估 (#14): a 学年's school figures — the Excel template listing the directory's schools,
a filled one uploaded (taken whole, or refused with every problem listed), and what the year
holds. The office imports; the auditor reads."""

from __future__ import annotations

import hashlib
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile
from starlette.responses import Response

from domain.clock import beijing_date
from domain.errors import DomainError, InvalidInputError
from domain.evaluation import COUNTY, evaluate
from domain.school_figures import FIGURES
from domain.school_year import parse_school_year, year_label
from domain.standard import CV_RULES, LEVEL_LABELS, RESOURCES, rules
from domain.values import Role
from web.deps import App, Config, Look, PostedForm, allow
from web.errors import status_of
from web.templating import flash, render
from web.users import User

router = APIRouter()
Office = Annotated[User, Depends(allow(Role.OFFICE))]
Reader = Annotated[User, Depends(allow(Role.OFFICE, Role.AUDITOR))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_ROWS = 500


def _year(app, text: str) -> int:
    """The 学年 asked for, or the one running today (a 学年 begins on 1 September)."""
    if text:
        return parse_school_year(text)
    today = beijing_date(app.now())
    return today.year if today.month >= 9 else today.year - 1


def _schools(app) -> list[dict]:
    return [u for u in app.directory().units.values() if u["kind"] == "school"]


@router.get("/standard")
def standard_page(request: Request, app: App, look: Look, user: Reader, year: str = ""):
    """A 学年's figures: the template, the upload, and what has been taken."""
    return _page(request, app, look, user, _year(app, year))


def _page(request: Request, app, look, user: User, year: int, *,
          problems: list[str] | None = None, status_code: int = 200) -> Response:
    figures = app.school_figures(year)
    rows = sorted(figures["rows"].items())
    levels = {u["code"]: u["level"] for u in _schools(app)}
    judged = evaluate({k: v for k, v in figures["rows"].items() if k[0] in levels}, levels,
                      weighted=app.cv_weighted)
    return render(request, "standard.html", {
        "judged": judged, "rules": rules(), "resources": RESOURCES, "county": COUNTY,
        "cv_limits": {part: rules()[CV_RULES[part]].threshold(part) for part in LEVEL_LABELS},
        "weighted": app.cv_weighted,
        "year": year, "label": year_label(year), "figures": FIGURES, "parts": LEVEL_LABELS,
        "rows": rows[:SHOWN_ROWS], "total": len(rows), "imports": figures["imports"],
        "schools": len(_schools(app)), "names": look.names, "problems": problems,
        "may_import": user.has(Role.OFFICE)}, status_code=status_code)


@router.get("/standard/template")
def figures_template(app: App, config: Config, user: Office, year: str = ""):
    """The year's Excel template, listing every school of the directory a row per 学段."""
    label = year_label(_year(app, year))
    body = config.figures_files.template(_schools(app), f"{label}学校办学条件数据")
    name = f"{label}学校数据模板.xlsx"
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.post("/standard/import")
def figures_import(request: Request, app: App, config: Config, look: Look, user: Office,
                   form: PostedForm):
    """A filled template: taken whole, or the page again with every problem listed."""
    year_text, upload = form.get("year"), form.get("file")
    try:
        year = _year(app, year_text if isinstance(year_text, str) else "")
    except DomainError as error:
        return _page(request, app, look, user, _year(app, ""), problems=[error.message],
                     status_code=status_of(error))
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInputError("请选择填好的 Excel 工作簿")
        data = upload.file.read()
        rows = config.figures_files.read(data)
        taken = app.import_figures(user.login, year, rows,
                                   sha256=hashlib.sha256(data).hexdigest(),
                                   file_name=upload.filename)
    except DomainError as error:     # a refused workbook lists every problem
        return _page(request, app, look, user, year,
                     problems=getattr(error, "problems", [error.message]),
                     status_code=status_of(error))
    flash(request, f"已导入 {len(rows)} 行数据" if taken else "这份工作簿已导入过，数据没有变化")
    return RedirectResponse(f"/standard?year={year}", status_code=303)
