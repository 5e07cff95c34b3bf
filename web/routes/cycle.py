"""周检查 and 月回查: the week's check list and the month's recheck list, each item actionable
in place by an inspector (or the office)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from domain.clock import iso_week
from domain.errors import DomainError, InvalidInputError
from domain.values import Role
from projections.cycle import check_list, recheck_list, week_start
from web.deps import App, Look, ReadDb, allow
from web.templating import flash, is_htmx, render
from web.users import User

router = APIRouter()
Viewer = Annotated[User, Depends(allow(Role.INSPECTOR, Role.OFFICE, Role.LEADER, Role.AUDITOR))]
Checker = Annotated[User, Depends(allow(Role.INSPECTOR, Role.OFFICE))]


def _week(label: str, app) -> str:
    label = label or iso_week(app.today())
    try:
        week_start(label)
    except ValueError as error:
        raise InvalidInputError(str(error)) from None
    return label


def _in_scope(rows: list[dict], user: User, app) -> list[dict]:
    scope = user.scope(app)
    if scope is None:
        return rows
    return [r for r in rows if {r["town_id"], r["unit_id"]} & scope.units]


@router.get("/checks")
def weekly_check(request: Request, app: App, db: ReadDb, look: Look, user: Viewer,
                 week: str = ""):
    """The week's check list: every open ticket by town and school, red first, and every
    rectified one waiting for re-inspection; with how much has been checked."""
    week = _week(week, app)
    rows = _in_scope(check_list(db, week), user, app)
    monday = week_start(week).date()
    return render(request, "checks.html", {
        "week": week, "rows": rows, "names": look.names,
        "checked": sum(1 for r in rows if r["checked"]),
        "previous": iso_week(monday - timedelta(days=7)),
        "next": iso_week(monday + timedelta(days=7)),
        "may_check": user.has(Role.INSPECTOR, Role.OFFICE),
        "is_current": week == iso_week(app.today()),
    })


@router.post("/checks/{week}/{number}")
def check_item(request: Request, app: App, db: ReadDb, look: Look, user: Checker, week: str,
               number: str,
               result: Annotated[str, Form()] = "", note: Annotated[str, Form()] = ""):
    """Record a visit (检查) or a re-inspection (复查通过 / 退回) against one item of the list."""
    week = _week(week, app)
    try:
        if result == "visit":
            app.check_progress(number, user.login, note=note)
        elif result in ("pass", "fail"):
            app.reinspect(number, user.login, passed=result == "pass", findings=note)
        else:
            raise InvalidInputError("请选择：检查、复查通过或退回整改")
    except DomainError as error:
        if is_htmx(request):
            raise
        flash(request, f"{number}：{error.message}")
        return RedirectResponse(f"/checks?week={week}", status_code=303)
    done = {"visit": "已记录检查", "pass": "复查通过", "fail": "已退回整改"}[result]
    if is_htmx(request):
        request.app.state.reads.catch_up()     # the row as the command left it
        row = next((r for r in check_list(db, week)
                    if r["number"] == number), None)
        return render(request, "_check_row.html", {"r": row, "week": week, "done": done,
                                                   "names": look.names, "may_check": True})
    flash(request, f"{number}：{done}")
    return RedirectResponse(f"/checks?week={week}", status_code=303)


@router.get("/rechecks")
def monthly_recheck(request: Request, app: App, db: ReadDb, look: Look, user: Viewer,
                    month: str = ""):
    """The month's recheck list: tickets closed in the month before, holding or reopened."""
    month = month or app.today().strftime("%Y-%m")
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InvalidInputError(f"月份「{month[:20]}」无效，应写成 2026-11 这样") from None
    rows = _in_scope(recheck_list(db, month), user, app)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return render(request, "rechecks.html", {
        "month": month, "rows": rows, "names": look.names,
        "previous": previous.strftime("%Y-%m"), "next": following.strftime("%Y-%m"),
        "may_reopen": user.has(Role.INSPECTOR, Role.OFFICE),
    })

