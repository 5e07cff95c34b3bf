"""本校数据 (#14): a school enters its own figures for a 学年 (a row per 学段; a nine-year school
two), sees the shortfalls they give and the tickets those opened. Only a school's own account
(the office imports the whole county's on 达标评估)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from domain.directory import SCHOOL_PARTS
from domain.errors import DomainError, NotPermittedError
from domain.school_figures import FIGURES
from domain.school_year import Row, year_label
from domain.standard import LEVEL_LABELS
from domain.values import Role
from projections.queries import open_by_indicator, visible_numbers
from web.deps import App, PostedForm, ReadDb, allow
from web.errors import status_of
from web.readiness import readiness
from web.routes.standard import school_year
from web.templating import flash, render
from web.users import User

router = APIRouter()
Unit = Annotated[User, Depends(allow(Role.UNIT))]


def _school(app, user: User) -> dict:
    unit = app.directory().units.get(user.unit_id or "")
    if unit is None or unit["kind"] != "school":
        raise NotPermittedError("只有学校账号可以填报本校数据")
    return unit


@router.get("/standard/mine")
def my_figures(request: Request, app: App, db: ReadDb, user: Unit, year: str = ""):
    return _page(request, app, db, user, school_year(app, year))


def _page(request: Request, app, db, user: User, year: int, *,
          problems: list[str] | None = None, entered: dict | None = None,
          status_code: int = 200) -> Response:
    school = _school(app, user)
    r = readiness(app, year)
    mine = [s for s in r.shortfalls if s["school"] == school["code"]]
    rows = {part: r.figures.rows.get(f"{school['code']}|{part}", {})
            for part in SCHOOL_PARTS[school["level"]]}
    if entered:
        rows[entered["part"]] = entered
    return render(request, "school_figures.html", {
        "school": school, "year": year, "label": year_label(year), "rows": rows,
        "parts": LEVEL_LABELS, "figures": FIGURES, "problems": problems,
        "shortfalls": mine, "visible": visible_numbers(
            db, [s["ticket"] for s in mine if s["ticket"]], user.sight(app))},
        status_code=status_code)


@router.post("/standard/mine")
def enter_my_figures(request: Request, app: App, db: ReadDb, user: Unit, form: PostedForm):
    """One 学段's figures: recorded and judged, or the form again with every problem."""
    school = _school(app, user)
    text = {k: v.strip() if isinstance(v, str) else "" for k, v in form.items()}
    values, unreadable = {}, {}
    for figure in FIGURES:
        held = text.get(figure.name, "").replace(",", "")
        try:
            number = float(held) if held else None
        except ValueError:
            number, unreadable[figure.name] = None, held
        if number is not None and number.is_integer():   # a count stays a count
            number = int(number)
        values[figure.name] = number
    part = text.get("part", "")
    year = school_year(app, "")
    try:
        year = school_year(app, text.get("year", ""))
        app.enter_figures(user.login, year,
                          Row(school["code"], part, values, "本校填报", unreadable=unreadable),
                          candidates=open_by_indicator(db))
    except DomainError as error:
        return _page(request, app, db, user, year,
                     problems=getattr(error, "problems", [error.message]),
                     entered={"part": part, **{k: text.get(k, "") for k in values}}
                     if part in LEVEL_LABELS else None, status_code=status_of(error))
    flash(request, f"已保存{LEVEL_LABELS[part]}数据")
    return RedirectResponse(f"/standard/mine?year={year}", status_code=303)
