"""周检查 and 月回查: the week's check list and the month's recheck list, each item actionable
in place by an inspector (or the office)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from domain.commands import COMMANDS, VERDICTS
from domain.errors import (
    DomainError,
    InvalidInputError,
    NotPermittedError,
    UnknownReferenceError,
)
from domain.periods import Month, Week
from domain.values import Role
from projections.cycle import check_list, recheck_list
from projections.evidence_rounds import evidence_rounds
from web.deps import App, Config, Look, PostedForm, ReadDb, allow
from web.errors import status_of
from web.feedback import tell, told
from web.forms import Uploads, expected_version, read_fields, typed
from web.history import day_of, moment_of, not_after_then
from web.homes import is_town_account
from web.templating import is_htmx, render
from web.users import User

router = APIRouter()
VIEWERS = (Role.INSPECTOR, Role.OFFICE, Role.LEADER, Role.AUDITOR)
Viewer = Annotated[User, Depends(allow(*VIEWERS))]
# A town's (镇街) account also reads its week's check list: its own and its schools' rows (#11).
CheckViewer = Annotated[User, Depends(allow(*VIEWERS, Role.UNIT))]
CHECKERS = COMMANDS["check_progress"].roles
Checker = Annotated[User, Depends(allow(*CHECKERS))]


def _week(label: str, today) -> Week:
    return Week.parse(label) if label else Week.of(today)


def _offer(user: User, state: str) -> str | None:
    """The command an item of the week's list offers this user in the state it is in now:
    复查 for one waiting for it, else 检查进度; none where the user may give neither."""
    for name in ("reinspect", "check_progress"):
        command = COMMANDS[name]
        if state in command.states and user.has(*command.roles):
            return name
    return None


def _doubts(db, ticket_id: str) -> list[dict]:
    """The doubts about the photos of the rectification waiting for re-inspection."""
    return next((r["flags"] for r in evidence_rounds(db, ticket_id) if r["current"]), [])


def _check_context(app, db, look, config, user: User, shown: Week, said: dict | None, *,
                   today: date, past: bool = False) -> dict:
    """The week's list; actions are offered on the current week's list only, as a check is
    recorded when it is made and counts in the week it was made (and never in a view of the
    past, where `today` is the instant's day)."""
    rows = check_list(db, str(shown), config.warn_days, user.sight(app))
    current = Week.of(today)
    is_current = shown == current and not past
    for r in rows:
        r["offer"] = _offer(user, r["state_now"]) if is_current else None
        if r["offer"] == "reinspect":    # judged here too, so its doubtful photos are said here
            r["doubts"] = _doubts(db, r["ticket_id"])
    if said:        # an item not on the list has its message said above the list
        said = said | {"off_list": all(f"check-{r['number']}" != said["at"] for r in rows)}
    return {
        "week": str(shown), "rows": rows, "names": look.names,
        "checked": sum(1 for r in rows if r["checked"]),
        "previous": str(shown.shifted(-1)), "next": str(shown.shifted(1)),
        "may_check": user.has(*CHECKERS) and not past, "is_current": is_current,
        "current": str(current), "said": said,
    }


@router.get("/checks")
def weekly_check(request: Request, app: App, db: ReadDb, look: Look, config: Config,
                 user: CheckViewer, week: str = ""):
    """The week's check list: every open ticket by town and school, red first, and every
    rectified one waiting for re-inspection; with how much has been checked."""
    if not user.has(*VIEWERS) and not is_town_account(app, user):
        raise NotPermittedError("您的角色无权访问此页面")
    today = day_of(request, app.today())
    shown = _week(week, today)
    not_after_then(request, shown.first_day)
    return render(request, "checks.html", _check_context(
        app, db, look, config, user, shown, told(request), today=today,
        past=moment_of(request) is not None))


@router.post("/checks/{week}/{number}")
def check_item(request: Request, app: App, db: ReadDb, look: Look, config: Config,
               user: Checker, week: str, number: str,
               result: Annotated[str, Form()] = "", note: Annotated[str, Form()] = ""):
    """Record a visit (检查) or a re-inspection (复查通过 / 退回) against one item of this
    week's list; the item is drawn again with what became of it."""
    shown, current = _week(week, app.today()), Week.of(app.today())
    try:
        if shown != current:
            raise InvalidInputError(f"检查只能记在本周（{current}）的清单上；"
                                    f"{shown} 的清单只供查看")
        if result == "visit":
            app.check_progress(number, user.login, note=note)
        elif result in ("pass", "fail"):
            app.reinspect(number, user.login, passed=result == "pass", findings=note)
        else:
            raise InvalidInputError(f"请选择：{COMMANDS['check_progress'].label}、"
                                    f"{VERDICTS['pass']}或{VERDICTS['fail']}")
    except DomainError as error:
        said = {"at": f"check-{number}", "text": error.message, "error": True, "typed": note}
        return _check_answer(request, app, db, look, config, user, shown, said,
                             status_of(error))
    done = {"visit": COMMANDS["check_progress"].done, "pass": VERDICTS["pass"],
            "fail": f"已{VERDICTS['fail']}"}[result]
    said = {"at": f"check-{number}", "text": done}
    if is_htmx(request):
        return _check_answer(request, app, db, look, config, user, shown, said, 200)
    return tell(request, f"/checks?week={shown}", said["at"], done)


def _check_answer(request: Request, app, db, look, config, user: User, shown: Week,
                  said: dict, status: int):
    """The item again with what was said (htmx: the row alone, and the week's count in
    place), or the whole list again for a refused plain form."""
    request.app.state.reads.catch_up()     # the row as the command left it
    context = _check_context(app, db, look, config, user, shown, said, today=app.today())
    if not is_htmx(request):
        return render(request, "checks.html", context, status_code=status)
    row = next((r for r in context["rows"] if f"check-{r['number']}" == said["at"]), None)
    if row is None:        # checked from elsewhere than the list: not counted in it
        ticket = user.visible_ticket(app, db, said["at"].removeprefix("check-"), config.warn_days)
        row = ticket | {"state_now": ticket["state"], "checked": False, "offer": None}
    return render(request, "_check_row.html", context | {"r": row, "oob": True},
                  status_code=status)


RECHECKS = ("hold", "reopen")     # what an item of the month's list may record
Rechecker = Annotated[User, Depends(allow(*{r for c in RECHECKS for r in COMMANDS[c].roles}))]


def _recheck_context(app, db, look, user: User, shown: Month, said: dict | None,
                     at=None) -> dict:
    """The month's list, as of `at` in a view of the past (which offers nothing)."""
    rows = recheck_list(db, str(shown), user.sight(app), at)
    for r in rows:     # an item is recorded once: while it is 未回查 and still closed
        waiting = r["outcome"] == "pending" and r["state"] in COMMANDS["hold"].states \
            and at is None
        r["offers"] = [COMMANDS[c] for c in RECHECKS
                       if waiting and user.has(*COMMANDS[c].roles)]
    return {"month": str(shown), "rows": rows, "names": look.names,
            "previous": str(shown.shifted(-1)), "next": str(shown.shifted(1)), "said": said}


@router.get("/rechecks")
def monthly_recheck(request: Request, app: App, db: ReadDb, look: Look, user: Viewer,
                    month: str = ""):
    """The month's recheck list: tickets closed in the month before, holding or reopened."""
    moment = moment_of(request)
    shown = Month.parse(month) if month else Month.of(day_of(request, app.today()))
    not_after_then(request, shown.first_day)
    return render(request, "rechecks.html", _recheck_context(
        app, db, look, user, shown, told(request), moment.at if moment else None))


@router.post("/rechecks/{month}/{number}/{command}")
def recheck_item(request: Request, app: App, db: ReadDb, look: Look, config: Config,
                 user: Rechecker, form: PostedForm, month: str, number: str, command: str):
    """Record an item's recheck, 回查巩固 or 重新整改, from the month's list; the item is
    drawn again with what became of it."""
    shown = Month.parse(month)
    if command not in RECHECKS:
        raise UnknownReferenceError("没有这个操作")
    spec, at = COMMANDS[command], f"recheck-{number}"
    try:
        if number not in {r["number"] for r in recheck_list(db, str(shown), user.sight(app))}:
            raise UnknownReferenceError(f"{number[:40]} 不在 {shown} 的回查清单上")
        getattr(app, spec.method)(number, user.login, expected_version=expected_version(form),
                                  **read_fields(form, spec.fields, Uploads(config, user.login, app.today())))
    except DomainError as error:
        said = {"at": at, "text": error.message, "error": True, "command": command,
                "typed": typed(form, spec.fields)}
        return _recheck_answer(request, app, db, look, user, shown, said, status_of(error))
    if is_htmx(request):
        return _recheck_answer(request, app, db, look, user, shown,
                               {"at": at, "text": spec.done}, 200)
    return tell(request, f"/rechecks?month={shown}", at, spec.done)


def _recheck_answer(request: Request, app, db, look, user: User, shown: Month, said: dict,
                    status: int):
    """As `_check_answer`, for the month's recheck list."""
    request.app.state.reads.catch_up()
    context = _recheck_context(app, db, look, user, shown, said)
    if not is_htmx(request):
        return render(request, "rechecks.html", context, status_code=status)
    row = next((r for r in context["rows"] if f"recheck-{r['number']}" == said["at"]), None)
    if row is None:
        raise InvalidInputError(said["text"])
    return render(request, "_recheck_row.html", context | {"r": row, "oob": True},
                  status_code=status)
