"""Signing in and out, one's own account (how one is told), password and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from domain.directory import NOTIFY_MODES, notify_mode
from domain.errors import DomainError, InvalidInputError, NotPermittedError
from domain.signing_in import SOURCE_WINDOW_SECONDS, TooManyAttemptsError
from web.deps import App, SignedIn, public
from web.feedback import tell, told
from web.security import require_csrf, safe_next
from web.sign_in_gate import BUSY, GateFull, HashGate
from web.templating import flash, render

router = APIRouter()


def _source(request: Request) -> str:
    """Where the request came from (behind a trusted proxy, whom it forwarded for:
    web/proxies.py)."""
    return request.client.host if request.client else ""


@router.get("/login", dependencies=[Depends(public)])
def login_page(request: Request, next: str = "/"):
    """The sign-in form."""
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", dependencies=[Depends(public)])
async def login(request: Request, app: App, login: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/",
                csrf_token: Annotated[str, Form()] = ""):
    """Check the password (one of a few at a time); on success start a fresh session (a new
    CSRF token too)."""
    require_csrf(request, csrf_token)
    try:
        account = await _gate(request).run(
            lambda: app.log_in(login, password, source=_source(request)))
    except (DomainError, GateFull) as error:
        return _refused(request, "login.html", error, {"next": safe_next(next), "login": login[:40]})
    request.session.clear()
    request.session.update(login=account["login"], stamp=app.session_stamp(account["login"]))
    return RedirectResponse(safe_next(next), status_code=303)


def _gate(request: Request) -> HashGate:
    return request.app.state.sign_in_gate


def _refused(request: Request, template: str, error: Exception, context: dict):
    """The form again with why: a wrong password 400, a source refused for now 429, no turn
    to check a password 503 (both with Retry-After)."""
    if isinstance(error, GateFull):
        status, message, retry = 503, BUSY, "5"
    elif isinstance(error, TooManyAttemptsError):
        status, message, retry = 429, error.message, str(SOURCE_WINDOW_SECONDS)
    else:
        status, message, retry = 400, error.message, None
    response = render(request, template, {**context, "error": message}, status_code=status)
    if retry:
        response.headers["Retry-After"] = retry
    return response


@router.post("/logout")
def logout(request: Request, app: App, user: SignedIn):
    """End the session, and every other session of the account; the sign-out is on the
    record."""
    request.session.clear()
    app.log_out(user.login, source=_source(request))
    return RedirectResponse("/login", status_code=303)


@router.get("/password")
def password_page(request: Request, user: SignedIn):
    """The change-password form."""
    return render(request, "password.html", {"error": None})


@router.post("/password")
async def change_password(request: Request, app: App, user: SignedIn,
                          current: Annotated[str, Form()] = "", new: Annotated[str, Form()] = "",
                          again: Annotated[str, Form()] = ""):
    """Change one's own password; this session goes on, every other one ends, and one's API
    tokens are revoked. A wrong current password, and the right one while this source is
    locked out, get the same answer."""

    def change() -> None:
        try:
            app.confirm_password(user.login, current, source=_source(request))
        except TooManyAttemptsError:
            raise
        except NotPermittedError:
            raise InvalidInputError("当前密码不正确（连续 5 次错误将暂停 15 分钟）") from None
        if new != again:
            raise InvalidInputError("两次输入的新密码不一致")
        app.change_password(user.login, user.login, new)

    try:
        await _gate(request).run(change)
    except (DomainError, GateFull) as error:
        return _refused(request, "password.html", error, {})
    request.session["stamp"] = app.session_stamp(user.login)
    flash(request, "密码已修改")
    return RedirectResponse("/", status_code=303)


@router.get("/account")
def account_page(request: Request, app: App, user: SignedIn):
    """One's account: who one is here, how one is told (即时通知 or 每日汇总), and the way to
    the password and the API tokens."""
    return render(request, "account.html", _account(app, user) | {"said": told(request)})


@router.post("/account/notify")
def choose_notification(request: Request, app: App, user: SignedIn,
                        mode: Annotated[str, Form()] = ""):
    """Choose how one's own person is told of what happens to one's tickets."""
    try:
        app.choose_notification(user.login, mode)
    except DomainError as error:
        return render(request, "account.html", _account(app, user) | {"error": error.message},
                      status_code=400)
    return tell(request, "/account", "notify", f"通知方式已改为：{NOTIFY_MODES[mode]}")


def _account(app, user) -> dict:
    person = app.directory().people.get(user.person_id) if user.person_id else None
    return {"person": person, "mode": notify_mode(person), "modes": NOTIFY_MODES,
            "unit": app.directory().units.get(user.unit_id) if user.unit_id else None,
            "error": None, "said": None}


@router.get("/tokens")
def tokens_page(request: Request, app: App, user: SignedIn):
    """One's API tokens (for integrations), without their secrets."""
    return render(request, "tokens.html", {"tokens": app.api_tokens(user.login), "new": None})


@router.post("/tokens")
def issue_token(request: Request, app: App, user: SignedIn, label: Annotated[str, Form()] = ""):
    """A new token, shown this once."""
    token = app.issue_api_token(user.login, label)
    return render(request, "tokens.html", {"tokens": app.api_tokens(user.login), "new": token},
                  status_code=201)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, app: App, user: SignedIn, token_id: str):
    """Revoke one of one's tokens; integrations using it stop at once."""
    app.revoke_api_token(user.login, token_id)
    flash(request, "令牌已撤销")
    return RedirectResponse("/tokens", status_code=303)
