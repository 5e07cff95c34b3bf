"""组织机构: units, people, the 包保 map and accounts — kept by the office, read by the auditor."""

from __future__ import annotations

import math
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from domain.clock import beijing
from domain.errors import DomainError, InvalidInputError
from domain.evidence_checks import distance_text
from domain.periods import parse_day
from domain.values import Role
from projections.directory_views import accounts, baobao_map, people, sign_ins, unit_tree
from web.deps import App, PostedForm, ReadDb, allow
from web.feedback import tell, told
from web.templating import render
from web.users import User

router = APIRouter()
READERS = (Role.OFFICE, Role.AUDITOR)      # 组织机构, and the phones and e-mails it shows
Reader = Annotated[User, Depends(allow(*READERS))]
Office = Annotated[User, Depends(allow(Role.OFFICE))]


@router.get("/directory")
def directory(request: Request, app: App, db: ReadDb, user: Reader, on: str = ""):
    """The unit tree, people, the 包保 map as of a day, accounts and recent sign-ins."""
    day = parse_day(on) if on else app.today()
    now_iso = beijing(app.now()).isoformat(timespec="microseconds")
    return render(request, "directory.html", {
        "tree": unit_tree(db), "people": people(db), "baobao": baobao_map(db, day), "day": day,
        "accounts": accounts(db, now_iso), "sign_ins": sign_ins(db),
        "may_edit": user.has(Role.OFFICE), "said": told(request),
        "photo_distance": distance_text(app.photo_distance_m),
    })


@router.post("/directory/accounts")
def add_account(request: Request, app: App, user: Office, login: Annotated[str, Form()] = "",
                name: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "",
                unit_id: Annotated[str, Form()] = "", person_id: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = ""):
    """Open a login for someone."""
    return _done(request, lambda: app.register_account(
        user.login, login=login, name=name, roles=[role], unit_id=unit_id or None,
        person_id=person_id or None, password=password), f"已创建账号 {login}", "accounts")


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
    return _done(request, command, f"账号 {login} {done}", f"account-{login}")


# change -> (application method, its form fields, what to say when done)
CHANGES = {
    "unit": ("add_unit", ("code", "name", "kind", "parent", "level"), "已添加单位"),
    "person": ("register_person", ("person_id", "name", "title", "unit_id", "email", "phone"),
               "已登记人员"),
    "head": ("appoint_head", ("unit_id", "person_id", "on"), "已任命负责人"),
    "baobao": ("assign_baobao", ("leader_id", "unit_id", "on"), "已安排包保"),
    "baobao-end": ("end_baobao", ("leader_id", "unit_id", "on"), "已结束包保"),
    "location": ("locate_unit", ("code", "latitude", "longitude"), "已录入学校位置（经纬度）"),
}
FORMS = {"location": "locations", "baobao-end": "baobao"}    # the form's id, where not `what`
COORDINATES = {"latitude": "纬度", "longitude": "经度"}
LOCATIONS_LIMIT = 2000      # lines of one pasted list


@router.post("/directory/{what}")
def change_directory(request: Request, app: App, user: Office, form: PostedForm, what: str):
    """Add a unit or a person, appoint a head, start or end a 包保 (dated, so history stays);
    say where a school is, or where many are (`locations`: one 编码,纬度,经度 a line)."""
    if what == "locations":
        return _locate_many(request, app, user, form.get("rows"))
    if what not in CHANGES:
        raise InvalidInputError("没有这个操作")
    method, fields, done = CHANGES[what]
    values = {}
    for field in fields:
        raw = form.get(field)
        text = raw.strip() if isinstance(raw, str) else ""
        if field == "on":
            values[field] = parse_day(text)
        elif field in COORDINATES:
            values[field] = _coordinate(text, COORDINATES[field])
        else:
            values[field] = text or (None if field == "level" else "")
    return _done(request, lambda: getattr(app, method)(user.login, **values), done,
                 FORMS.get(what, what))


def _coordinate(text: str, label: str) -> float:
    """A latitude or longitude as typed (decimal degrees); its range is the directory's rule."""
    if not text:
        raise InvalidInputError(f"请填写{label}")
    try:
        value = float(text.replace("，", ",").replace("°", ""))
    except ValueError:
        raise InvalidInputError(f"{label}应为十进制度数，如 35.6521") from None
    if not math.isfinite(value):
        raise InvalidInputError(f"{label}应为十进制度数，如 35.6521")
    return value


def _locate_many(request: Request, app, user: User, raw: object):
    """Where many schools are, pasted from a sheet: every line is read first, and one that
    cannot be read refuses the whole list (naming its line), so nothing is half entered; then
    each is recorded, and one the directory refuses (an unknown code, a latitude past 90) is
    named while the rest go on."""
    lines = [(n, line.strip()) for n, line in
             enumerate(raw.splitlines() if isinstance(raw, str) else [], start=1) if line.strip()]
    if not lines:
        raise InvalidInputError("请粘贴学校位置：每行一所，格式为 单位编码,纬度,经度")
    if len(lines) > LOCATIONS_LIMIT:
        raise InvalidInputError(f"一次最多录入 {LOCATIONS_LIMIT} 行")
    rows = []
    for n, line in lines:
        parts = [p.strip() for p in re.split(r"[,，;；\s]+", line)]
        if len(parts) != 3:
            raise InvalidInputError(f"第{n}行应为 单位编码,纬度,经度 三项：{line[:40]}")
        try:
            rows.append((n, parts[0], _coordinate(parts[1], "纬度"), _coordinate(parts[2], "经度")))
        except InvalidInputError as error:
            raise InvalidInputError(f"第{n}行：{error.message}") from None
    done, failed = 0, []
    for n, code, latitude, longitude in rows:
        try:
            app.locate_unit(user.login, code=code, latitude=latitude, longitude=longitude)
            done += 1
        except DomainError as error:
            failed.append(f"第{n}行 {code[:20]}：{error.message}")
    return tell(request, "/directory", "locations-many", f"已录入 {done} 个单位的位置" + (
        f"；未能录入 {len(failed)} 行：" + "；".join(failed) if failed else ""))


def _done(request: Request, command, message: str, at: str):
    """Run the command (a refusal becomes the error page, with its status) and go back to
    its form (id `at`), where the message is said (#11)."""
    command()
    return tell(request, "/directory", at, message)
