"""Read your own writes on any node: the answer to every write carries the log's position after
it, as a cookie (and a header, for API clients), and a page asked with that position waits,
bounded, until the answering node's read models reach it (web/readside.py)."""

from __future__ import annotations

import anyio
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

POSITION_COOKIE = "xiaohao_position"
POSITION_HEADER = "X-Xiaohao-Position"
KEEP_SECONDS = 600      # long past any node's catching up
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def position_asked(request: Request) -> int | None:
    """The log position a page must show: the user's last write's, or 0 for whatever the
    node holds; None (the log's head) for a command."""
    if request.method not in READS:
        return None
    given = request.headers.get(POSITION_HEADER) or request.cookies.get(POSITION_COOKIE, "")
    return int(given) if given.isdigit() and len(given) < 19 else 0


class PositionOfWrites:
    """Marks each answer to a write that was not refused with the log's position after it."""

    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app = app
        self.attributes = f"Path=/; Max-Age={KEEP_SECONDS}; HttpOnly; SameSite=Lax" + (
            "; Secure" if secure else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READS:
            await self.app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                reads = HTTPConnection(scope).app.state.reads
                position = str(await anyio.to_thread.run_sync(reads.head)).encode()
                message["headers"] = [
                    *message.get("headers", []), (POSITION_HEADER.lower().encode(), position),
                    (b"set-cookie",
                     POSITION_COOKIE.encode() + b"=" + position + b"; "
                     + self.attributes.encode())]
            await send(message)

        await self.app(scope, receive, send_marked)
