"""周检查 and 月回查: the week's check list and the month's recheck list, each item actionable
in place by an inspector (or the office)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from domain.commands import COMMANDS, VERDICTS
from domain.errors import DomainError, InvalidInputError, NotPermittedError
from domain.periods import Month, Week
from domain.values import Role
from projections.cycle import check_list, recheck_list
from web.deps import App, Config, Look, ReadDb, allow
from web.homes import is_town_account
from web.templating import flash, is_htmx, render
from web.users import User

router = APIRouter()
VIEWERS = (Role.INSPECTOR, Role.OFFICE, Role.LEADER, Role.AUDITOR)
Viewer = Annotated[User, Depends(allow(*VIEWERS))]
# A town's (镇街) account also reads its week's check list: its own and its schools' rows (#11).
CheckViewer = Annotated[User, Depends(allow(*VIEWERS, Role.UNIT))]
CHECKERS = COMMANDS["check_progress"].roles
Checker = Annotated[User, Depends(allow(*CHECKERS))]


def _week(label: str, app) -> Week:
    return Week.parse(label) if label else Week.of(app.today())


@router.get("/checks")
def weekly_check(request: Request, app: App, db: ReadDb, look: Look, config: Config,
                 user: CheckViewer, week: str = ""):
    """The week's check list: every open ticket by town and school, red first, and every
    rectified one waiting for re-inspection; with how much has been checked."""
    if not user.has(*VIEWERS) and not is_town_account(app, user):
        raise NotPermittedError("您的角色无权访问此页面")
    shown = _week(week, app)
    rows = check_list(db, str(shown), config.warn_days, user.sight(app))
    return render(request, "checks.html", {
        "week": str(shown), "rows": rows, "names": look.names,
        "checked": sum(1 for r in rows if r["checked"]),
        "previous": str(shown.shifted(-1)), "next": str(shown.shifted(1)),
        "may_check": user.has(*CHECKERS),
        "is_current": shown == Week.of(app.today()),
    })


@router.post("/checks/{week}/{number}")
def check_item(request: Request, app: App, db: ReadDb, look: Look, config: Config,
               user: Checker, week: str, number: str,
               result: Annotated[str, Form()] = "", note: Annotated[str, Form()] = ""):
    """Record a visit (检查) or a re-inspection (复查通过 / 退回) against one item of the list."""
    week = str(_week(week, app))
    try:
        if result == "visit":
            app.check_progress(number, user.login, note=note)
        elif result in ("pass", "fail"):
            app.reinspect(number, user.login, passed=result == "pass", findings=note)
        else:
            raise InvalidInputError(f"请选择：{COMMANDS['check_progress'].label}、"
                                    f"{VERDICTS['pass']}或{VERDICTS['fail']}")
    except DomainError as error:
        if is_htmx(request):
            raise
        flash(request, f"{number}：{error.message}")
        return RedirectResponse(f"/checks?week={week}", status_code=303)
    done = {"visit": COMMANDS["check_progress"].done, "pass": VERDICTS["pass"],
            "fail": f"已{VERDICTS['fail']}"}[result]
    if is_htmx(request):
        request.app.state.reads.catch_up()     # the row as the command left it
        row = next((r for r in check_list(db, week, config.warn_days, user.sight(app))
                    if r["number"] == number), None)
        return render(request, "_check_row.html", {"r": row, "week": week, "done": done,
                                                   "names": look.names, "may_check": True})
    flash(request, f"{number}：{done}")
    return RedirectResponse(f"/checks?week={week}", status_code=303)


@router.get("/rechecks")
def monthly_recheck(request: Request, app: App, db: ReadDb, look: Look, user: Viewer,
                    month: str = ""):
    """The month's recheck list: tickets closed in the month before, holding or reopened."""
    shown = Month.parse(month) if month else Month.of(app.today())
    rows = recheck_list(db, str(shown), user.sight(app))
    return render(request, "rechecks.html", {
        "month": str(shown), "rows": rows, "names": look.names,
        "previous": str(shown.shifted(-1)), "next": str(shown.shifted(1)),
        "may_reopen": user.has(*COMMANDS["reopen"].roles),
    })

