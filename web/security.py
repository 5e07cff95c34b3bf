"""Sessions, CSRF and security headers.

Sessions are Starlette's signed cookies (HttpOnly, SameSite=Lax). The cookie is signed again on
a request when it is over a minute old (web/sessions.py), and a signature older than the idle
timeout is refused, so the timeout counts from the last request. A session also carries a
stamp of the password: changing the password ends every session opened before.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote, urlsplit

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

# No inline script or style anywhere; images may be thumbnails served as data: URLs.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), microphone=()"),
]


class LoginRequired(Exception):
    """Raised when a page needs a signed-in user and there is none (or the session ended)."""


class CsrfRejected(Exception):
    """Raised when a state-changing request lacks the session's CSRF token."""


# What is answered to a signed-in user may be kept by their own browser but must be asked for
# again before it is shown (so a page never shows what the user may no longer see), and never
# by a shared cache. Static files, the same for everyone, keep their own caching; a response
# that says how it may be cached (an evidence file, by its content's hash) keeps its word.
PRIVATE = (b"cache-control", b"private, no-cache")


class SecurityHeaders:
    """Adds the security headers to every response, and `PRIVATE` to all but static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        extra = HEADERS if scope["path"].startswith("/static/") else [*HEADERS, PRIVATE]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in extra if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the login form needs one before login)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request whose token (header or form field) is not the session's."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        given = (await request.form(max_files=20)).get(CSRF_FIELD)
    require_csrf(request, given)


def require_csrf(request: Request, given: object) -> None:
    expected = request.session.get("csrf")
    if not expected or not isinstance(given, str) or not secrets.compare_digest(expected, given):
        raise CsrfRejected()


def login_url(request: Request) -> str:
    """Where to send someone whose session has ended, coming back here afterwards; for a form
    sent (which cannot be fetched again: 405), back to the page it was sent from."""
    if request.method in SAFE_METHODS:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        target = _page_sent_from(request)
    return "/login?next=" + quote(target, safe="")


def _page_sent_from(request: Request) -> str:
    """The path of the same-origin page a form was sent from (its Referer, or htmx's
    HX-Current-URL), else the home page."""
    for header in ("referer", "hx-current-url"):
        page = urlsplit(request.headers.get(header, ""))
        if page.netloc and page.netloc == request.url.netloc:    # the scheme may be a proxy's
            return safe_next(page.path + (f"?{page.query}" if page.query else ""))
    return "/"


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
