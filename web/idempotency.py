"""`Idempotency-Key` on the API's POSTs: a client that lost an answer (a timeout, a server killed
mid-reply) sends the request again with the same key and the command is not done twice.

Per account: the first request with a key runs, its key stored in the same transaction as the
command (domain/idempotency.py), then its answer kept. A retry with the same method, path and
body gets that answer again (with `Idempotent-Replayed: true`); the same key with another request
is a 422; a retry while the first is still running (or whose answer was lost with the server)
is a 409 that says what the first one did. Requests without the header run as before.
"""

from __future__ import annotations

import hashlib
import re

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.application import XiaohaoApp
from domain.errors import DomainError
from domain.idempotency import KeyedRequest, check_key
from web.errors import problem

HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")
_BOUNDARY = re.compile(rb"boundary=\"?([^\";]+)")


class IdempotencyKeys:
    """ASGI middleware for POST /api/…; it sits inside the session and body-limit layers, so the
    body it reads has already been bounded and its sender is known."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key = headers.get(HEADER)
        if key is None or scope["method"] != "POST" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        xapp: XiaohaoApp = scope["app"].state.xapp
        login = await run_in_threadpool(_login, xapp, scope, headers)
        if login is None:        # not signed in: the route answers 401 as usual
            await self.app(scope, receive, send)
            return
        try:
            key_text = check_key(key.decode("latin-1"))
        except DomainError as error:
            await problem(400, error.message)(scope, receive, send)
            return
        body = await _read_body(receive)
        fingerprint = _fingerprint(scope, headers, body)
        first = await run_in_threadpool(xapp.keyed_request, login, key_text)
        if first is not None:
            await _again(first, fingerprint)(scope, receive, send)
            return
        answer = _Recorded()
        with xapp.under_key(login, key_text, fingerprint) as pending:
            await self.app(scope, _replay(body), answer.send)
        if not pending.saved and (
                first := await run_in_threadpool(xapp.keyed_request, login, key_text)):
            await _again(first, fingerprint)(scope, receive, send)    # a twin got there first
            return
        if 200 <= answer.status < 300:
            await run_in_threadpool(xapp.keep_answer, pending, answer.status, answer.text())
        await answer.forward(send)


def _login(xapp: XiaohaoApp, scope: Scope, headers: dict[bytes, bytes]) -> str | None:
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if authorization[:7].lower() == "bearer ":
        try:
            return xapp.login_of_token(authorization[7:].strip())
        except DomainError:
            return None
    return scope.get("session", {}).get("login")


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _fingerprint(scope: Scope, headers: dict[bytes, bytes], body: bytes) -> str:
    """What makes two requests the same: method, path and body. A multipart body's boundary is
    left out, since a client picks a new one each time it sends the same files."""
    boundary = _BOUNDARY.search(headers.get(b"content-type", b""))
    if boundary:
        body = body.replace(boundary.group(1), b"")
    digest = hashlib.sha256(f"{scope['method']} {scope['path']}?".encode())
    digest.update(scope.get("query_string", b""))
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def _again(first: KeyedRequest, fingerprint: str) -> Response:
    """The answer to a request whose key was used before."""
    if first.fingerprint != fingerprint:
        return problem(422, "此 Idempotency-Key 已用于另一个请求；新的请求请使用新的键值")
    if first.answer is None or not first.answer["body"]:
        done = "，".join(f"{k}={v}" for k, v in first.outcome.items())
        return problem(409, "使用此 Idempotency-Key 的请求已执行" + (f"（{done}）" if done else "")
                       + "，但其答复尚未保存；请稍后重试，或直接查询结果",
                       outcome=first.outcome)
    response = Response(first.answer["body"], status_code=first.answer["status"],
                        media_type="application/json")
    response.raw_headers.append(REPLAYED)
    return response


class _Recorded:
    """The route's answer, held back until its key's record has it."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        self.status = 500

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start, self.status = message, message["status"]
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")

    async def forward(self, send: Send) -> None:
        await send(self.start)
        await send({"type": "http.response.body", "body": b"".join(self.chunks)})
