"""Sessions that slide. Starlette signs the session cookie only when the session changes, so
without this an active reader was signed out `session_idle_minutes` after their last change.
Here a request whose cookie was signed more than a minute ago has it signed again (a fresh
timestamp, the same content), so the idle timeout counts from the last request while most
responses carry no Set-Cookie."""

from __future__ import annotations

import time

from itsdangerous import BadSignature, TimestampSigner
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

SESSION_COOKIE = "xiaohao_session"
RENEW_AFTER_SECONDS = 60


class SlidingSession:
    """Runs inside Starlette's SessionMiddleware, which re-signs a session marked modified."""

    def __init__(self, app: ASGIApp, secret_key: str, session_cookie: str) -> None:
        self.app = app
        self.signer = TimestampSigner(secret_key)
        self.session_cookie = session_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("session") and self._stale(scope):
            scope["session"].mark_modified()
        await self.app(scope, receive, send)

    def _stale(self, scope: Scope) -> bool:
        cookie = HTTPConnection(scope).cookies.get(self.session_cookie)
        if not cookie:
            return False
        try:
            _, signed_at = self.signer.unsign(cookie, return_timestamp=True)
        except BadSignature:
            return False
        return time.time() - signed_at.timestamp() > RENEW_AFTER_SECONDS
