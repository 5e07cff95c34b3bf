"""What routes depend on: the application, the read side, and who is asking with which rights.

Dependencies that touch no database are coroutines: a plain function would cost every request a
trip through the thread pool. `read_db` is one too, making its single trip itself: read
connections come from a pool, one per request, and go back to it on the loop.

Every route names its rule with `allow(...)` or `public`; the permission-matrix test reads those
rules from the routes and fails on a route that has none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import contextmanager_in_threadpool
from sqlite_utils import Database
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from domain.application import XiaohaoApp
from domain.errors import DomainError, NotPermittedError
from domain.values import Role
from projections.asof import as_of, moment_at
from web.conditional import conditional
from web.config import WebConfig
from web.history import instant_of, may_look_back
from web.positions import position_asked
from web.readside import Lookups, ReadSide
from web.security import LoginRequired, check_csrf
from web.users import User


async def get_app(request: Request) -> XiaohaoApp:
    return request.app.state.xapp


async def get_config(request: Request) -> WebConfig:
    return request.app.state.config


async def read_db(request: Request) -> AsyncIterator[Database]:
    """A read connection for this request, the read models caught up (as far as is quick);
    on a page that can show the past, answering as of the instant the request names, if it
    names one (历史视图, web/history.py; the moment is kept in `request.state.moment`). One
    trip through the thread pool to catch up and borrow it; given back without one."""
    instant = instant_of(request, request.app.state.xapp.now())
    reads: ReadSide = request.app.state.reads
    db, behind = await run_in_threadpool(reads.lend, position_asked(request))
    try:
        request.state.behind = behind     # the page says so
        if instant is None:
            request.state.position = None if behind else reads.position
            yield db
        else:
            request.state.moment = await run_in_threadpool(moment_at, db, instant)
            async with contextmanager_in_threadpool(as_of(db, request.state.moment)):
                yield db
    finally:
        reads.give_back(db)


async def get_stamp(request: Request) -> Callable[[str], dict] | None:
    """The seal's checkpoint as a document prints it (signing a bulletin takes one)."""
    return request.app.state.stamp


App = Annotated[XiaohaoApp, Depends(get_app)]
Stamp = Annotated[Callable[[str], dict] | None, Depends(get_stamp)]
Config = Annotated[WebConfig, Depends(get_config)]
ReadDb = Annotated[Database, Depends(read_db)]


async def unchanged(request: Request, app: App, db: ReadDb,
                    user: Annotated[User, Depends(current_user)]) -> None:
    """A page that may be answered 304 (web/conditional.py), to a signed-in user."""
    conditional(request, getattr(request.state, "position", None), app.today().isoformat())


# The first parameter of a page's route after the request: a 304 is answered before the rest
# of what the page needs is worked out (it signs the user in first).
Unchanged = Annotated[None, Depends(unchanged)]


def lookups(request: Request, db: ReadDb) -> Lookups:
    return request.app.state.reads.lookups(db)


Look = Annotated[Lookups, Depends(lookups)]
MAX_FILES = 20   # files in one form


async def form_data(request: Request) -> FormData:
    """The submitted form, read here so that the route itself can be a plain function (run in
    the thread pool, never blocking the server's loop)."""
    return await request.form(max_files=MAX_FILES)


PostedForm = Annotated[FormData, Depends(form_data)]


async def current_user(request: Request) -> User:
    """The signed-in user; a state-changing request must also carry the session's CSRF token."""
    login = request.session.get("login")
    if not login:
        raise LoginRequired()
    app: XiaohaoApp = request.app.state.xapp
    try:
        account = app.account(login)
        stamp = app.session_stamp(login)
    except DomainError:
        account, stamp = None, None
    if account is None or account["disabled"] or request.session.get("stamp") != stamp:
        request.session.clear()
        raise LoginRequired()
    await check_csrf(request)
    request.state.user = User.of(account)
    may_look_back(request, request.state.user.roles)
    return request.state.user


def allow(*roles: Role) -> Callable[..., User]:
    """A dependency that lets in a signed-in user holding any of `roles` (403 otherwise)."""
    names = frozenset(r.value for r in roles)

    async def allowed(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.roles & names:
            raise NotPermittedError("您的角色无权访问此页面")
        return user

    allowed.roles = names   # type: ignore[attr-defined]  # read by the permission-matrix test
    return allowed


async def public(request: Request) -> None:
    """The rule of the few routes anyone may reach: sign-in, static files, health."""


public.roles = None   # type: ignore[attr-defined]


def bearer_user(app: XiaohaoApp, authorization: str) -> User | None:
    """The user an `Authorization: Bearer xh_…` header names; None without a bearer token,
    a DomainError when the token is not (or no longer) valid."""
    if authorization[:7].lower() != "bearer ":
        return None
    return User.of(app.account(app.login_of_token(authorization[7:].strip())))


def api_allow(*roles: Role) -> Callable[..., User]:
    """For the JSON API: a bearer token (`Authorization: Bearer xh_…`), or the browser's
    session (with its CSRF token on writes); then the same role rule as `allow`."""
    names = frozenset(r.value for r in roles)

    async def allowed(request: Request) -> User:
        try:
            user = bearer_user(request.app.state.xapp, request.headers.get("authorization", ""))
        except DomainError:
            raise LoginRequired("API 令牌无效或已撤销") from None
        if user is None:
            user = await current_user(request)
        request.state.user = user
        may_look_back(request, user.roles)
        if not user.roles & names:
            raise NotPermittedError("您的角色无权执行此操作")
        return user

    allowed.roles = names   # type: ignore[attr-defined]
    return allowed

EVERYONE = tuple(Role)
SignedIn = Annotated[User, Depends(allow(*EVERYONE))]
