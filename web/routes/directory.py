"""组织机构: units, people, the 包保 map and accounts — kept by the office, read by the auditor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from domain.clock import beijing
from domain.errors import InvalidInputError
from domain.periods import parse_day
from domain.values import Role
from projections.directory_views import accounts, baobao_map, people, sign_ins, unit_tree
from web.deps import App, PostedForm, ReadDb, allow
from web.templating import flash, render
from web.users import User

router = APIRouter()
Reader = Annotated[User, Depends(allow(Role.OFFICE, Role.AUDITOR))]
Office = Annotated[User, Depends(allow(Role.OFFICE))]


@router.get("/directory")
def directory(request: Request, app: App, db: ReadDb, user: Reader, on: str = ""):
    """The unit tree, people, the 包保 map as of a day, accounts and recent sign-ins."""
    day = parse_day(on) if on else app.today()
    return render(request, "directory.html", {
        "tree": unit_tree(db), "people": people(db), "baobao": baobao_map(db, day), "day": day,
        "accounts": accounts(db), "sign_ins": sign_ins(db), "may_edit": user.has(Role.OFFICE),
        "now_iso": beijing(app.now()).isoformat(timespec="microseconds"),
    })


@router.post("/directory/accounts")
def add_account(request: Request, app: App, user: Office, login: Annotated[str, Form()] = "",
                name: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "",
                unit_id: Annotated[str, Form()] = "", person_id: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = ""):
    """Open a login for someone."""
    return _done(request, lambda: app.register_account(
        user.login, login=login, name=name, roles=[role], unit_id=unit_id or None,
        person_id=person_id or None, password=password), f"已创建账号 {login}")


@router.post("/directory/accounts/{login}/{change}")
def change_account(request: Request, app: App, user: Office, login: str, change: str,
                   reason: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""):
    """Disable or enable a login, or set a new password for it."""
    changes = {
        "disable": (lambda: app.disable_account(user.login, login, reason), "已停用"),
        "enable": (lambda: app.enable_account(user.login, login), "已启用"),
        "password": (lambda: app.change_password(user.login, login, password), "已重设密码"),
    }
    if change not in changes:
        raise InvalidInputError("没有这个操作")
    command, done = changes[change]
    return _done(request, command, f"账号 {login} {done}")


# change -> (application method, its form fields, what to say when done)
CHANGES = {
    "unit": ("add_unit", ("code", "name", "kind", "parent", "level"), "已添加单位"),
    "person": ("register_person", ("person_id", "name", "title", "unit_id", "email", "phone"),
               "已登记人员"),
    "head": ("appoint_head", ("unit_id", "person_id", "on"), "已任命负责人"),
    "baobao": ("assign_baobao", ("leader_id", "unit_id", "on"), "已安排包保"),
    "baobao-end": ("end_baobao", ("leader_id", "unit_id", "on"), "已结束包保"),
}


@router.post("/directory/{what}")
def change_directory(request: Request, app: App, user: Office, form: PostedForm, what: str):
    """Add a unit or a person, appoint a head, start or end a 包保 (dated, so history stays)."""
    if what not in CHANGES:
        raise InvalidInputError("没有这个操作")
    method, fields, done = CHANGES[what]
    values = {}
    for field in fields:
        raw = form.get(field)
        text = raw.strip() if isinstance(raw, str) else ""
        if field == "on":
            values[field] = parse_day(text)
        else:
            values[field] = text or (None if field == "level" else "")
    return _done(request, lambda: getattr(app, method)(user.login, **values), done)


def _done(request: Request, command, message: str):
    """Run the command (a refusal becomes the error page, with its status) and go back."""
    command()
    flash(request, message)
    return RedirectResponse("/directory", status_code=303)
