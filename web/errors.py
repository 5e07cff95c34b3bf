"""Errors as pages a person can read: Chinese, with the right status, and for htmx a fragment
addressed to the page's message area instead of replacing what was there (the browser puts it
at the head of the form that was sent, static/app.js). A command refused by the domain is
answered by its route instead, beside the form and with what was typed (web/feedback.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from domain.errors import (
    DomainError,
    DuplicateError,
    IllegalTransitionError,
    LimitReachedError,
    NotPermittedError,
    OutOfScopeError,
    StaleVersionError,
    UnknownReferenceError,
)
from web.conditional import NotModified, not_modified
from web.security import HEADERS, CsrfRejected, LoginRequired, login_url
from web.templating import is_htmx, render

log = logging.getLogger("xiaohao.web")
STATUS_OF = [(NotPermittedError, 403), (OutOfScopeError, 403), (UnknownReferenceError, 404),
             (IllegalTransitionError, 409), (StaleVersionError, 409), (DuplicateError, 409),
             (LimitReachedError, 429)]
TITLES = {400: "输入有误", 401: "需要登录", 403: "无权访问", 404: "未找到", 405: "不支持此操作",
          409: "操作冲突", 413: "内容过大", 422: "输入有误", 429: "超出限额", 500: "系统错误"}


def problem(status: int, detail: str, **extra) -> JSONResponse:
    """An RFC 9457 problem document, as the JSON API answers every error."""
    headers = {"WWW-Authenticate": 'Bearer realm="xiaohao"'} if status == 401 else None
    return JSONResponse({"type": "about:blank", "title": TITLES.get(status, "出错了"),
                         "status": status, "detail": detail, **extra}, status_code=status,
                        media_type="application/problem+json", headers=headers)


def status_of(error: DomainError) -> int:
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 400)


def refusal(request: Request, status: int, message: str) -> Response:
    """The error as the asker reads it: a problem document for the API, else a Chinese page
    (a fragment for htmx, put where messages go)."""
    if request.url.path.startswith("/api/"):
        return problem(status, message)
    response = render(request, "error.html", {"status": status, "message": message,
                                              "title": TITLES.get(status, "出错了")},
                      fragment="_error.html", status_code=status)
    if is_htmx(request):
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def signed_out(request: Request, detail: str = "") -> Response:
    """The answer to someone not (or no longer) signed in: 401 for the API, else the sign-in
    page, coming back afterwards (web/security.py login_url)."""
    if request.url.path.startswith("/api/"):
        return problem(401, detail or "请提供 API 令牌（Authorization: Bearer …）或先登录")
    if is_htmx(request):   # a whole-page redirect, not a login form inside a fragment
        return Response(headers={"HX-Redirect": login_url(request)})
    return RedirectResponse(login_url(request), status_code=303)


def handle_errors(web: FastAPI) -> None:
    @web.exception_handler(NotModified)
    async def unchanged(request: Request, error: NotModified):
        return not_modified(error.etag)

    @web.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired):
        return signed_out(request, str(error))

    @web.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, error: CsrfRejected):
        return refusal(request, 403, "页面已过期或请求来源不明（CSRF 校验失败），请刷新页面后重试")

    @web.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError):
        return refusal(request, status_of(error), error.message)

    @web.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        if request.url.path.startswith("/api/"):
            return problem(422, "请求内容不符合要求", errors=[
                {"field": ".".join(str(part) for part in e["loc"]), "message": e["msg"]}
                for e in error.errors()])
        fields = "、".join(str(e["loc"][-1]) for e in error.errors())
        return refusal(request, 400, f"输入有误：{fields}")

    @web.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        messages = {404: "页面不存在", 405: "不支持此操作"}
        return refusal(request, error.status_code,
                           messages.get(error.status_code, str(error.detail)))

    @web.exception_handler(Exception)
    async def crashed(request: Request, error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = refusal(request, 500, "系统出现错误，已记录。请稍后重试或联系创建办")
        # Starlette answers this one outside the middleware that adds them.
        for name, value in HEADERS:
            response.headers.setdefault(name.decode(), value.decode())
        return response
