"""What a request may send, decided before anything reads it.

A request that changes something must come from someone signed in (a session that holds a
login) or carry an API token that verifies; otherwise it is answered as signed out (401 for
the API, the sign-in page for pages) without a byte of its body read. Only `POST /login` takes
a body from strangers. Each kind of body then has its own ceiling, checked by its
Content-Length and again while it streams in: JSON and plain forms 1 MiB, a form with files
the files it may carry (20 on a page, one through the API's upload) times the file limit.
A form's text must be UTF-8, as the API's JSON must be: a browser always sends it so, and a
request that does not is refused (400) instead of having its text silently replaced.
"""

from __future__ import annotations

import codecs
from urllib.parse import unquote_to_bytes

import python_multipart
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import DomainError
from web.deps import MAX_FILES, bearer_user
from web.errors import refusal, signed_out
from web.security import SAFE_METHODS

TEXT_LIMIT = 2**20          # a JSON body, a form without files, anything else
FORM_TEXT = 2**20           # the text that comes with a form's files
OPEN_TO_STRANGERS = frozenset({"/login"})
UPLOAD = "/api/v1/evidence"     # the API's upload takes one file


class BodyGate:
    """Authentication, a ceiling per kind of body, and UTF-8 form text, before the app reads."""

    def __init__(self, app: ASGIApp, file_limit: int) -> None:
        self.app, self.file_limit = app, file_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if scope["method"] not in SAFE_METHODS and scope["path"] not in OPEN_TO_STRANGERS \
                and not await _may_send(request):
            await signed_out(request, "请提供有效的 API 令牌（Authorization: Bearer …）或先登录")(
                scope, receive, send)
            return
        kind, options = parse_options_header(request.headers.get("content-type", ""))
        limit = self._limit(scope["path"], kind)
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > limit:
            await _too_large(request, limit)(scope, receive, send)
            return
        text = _TextCheck.of(kind, options)
        seen = 0

        async def checked() -> Message:
            nonlocal seen
            message = await receive()
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                raise _TooLarge()
            if text is not None:
                text.feed(chunk, last=not message.get("more_body", False))
            return message

        try:
            await self.app(scope, checked, send)
        except _TooLarge:
            await _too_large(request, limit)(scope, receive, send)
        except _NotUtf8:
            await refusal(request, 400, "表单内容不是有效的 UTF-8 文本，未作任何更改")(
                scope, receive, send)

    def _limit(self, path: str, kind: bytes) -> int:
        if kind != b"multipart/form-data":
            return TEXT_LIMIT
        files = 1 if path == UPLOAD else MAX_FILES
        return files * self.file_limit + FORM_TEXT


async def _may_send(request: Request) -> bool:
    """A signed session, or a bearer token that names an account (checked again, fully, by
    the route: this only keeps strangers' bodies unread)."""
    authorization = request.headers.get("authorization", "")
    if authorization:
        try:
            return await run_in_threadpool(bearer_user, request.app.state.xapp,
                                           authorization) is not None
        except DomainError:
            return False
    return bool(request.session.get("login"))


def _too_large(request: Request, limit: int):
    return refusal(request, 413, f"请求内容过大（不超过 {limit / 2**20:.0f} MB），未作任何更改")


class _TooLarge(Exception):
    """A body streamed past its ceiling."""


class _NotUtf8(Exception):
    """A form's text is not UTF-8."""


class _TextCheck:
    """Checks a form's text as it streams past: the fields of a plain form, the text parts
    of a form with files (its files are not text and are not looked at)."""

    @staticmethod
    def of(kind: bytes, options: dict) -> _TextCheck | None:
        if kind == b"application/x-www-form-urlencoded":
            return _PlainForm()
        if kind == b"multipart/form-data" and options.get(b"boundary"):
            return _PartsForm(options[b"boundary"])
        return None

    def feed(self, chunk: bytes, last: bool) -> None: ...


class _PlainForm(_TextCheck):
    """name=value&… : every name and value, percent-decoded, must be UTF-8. The body is at
    most TEXT_LIMIT, so it is checked whole when its last chunk arrives."""

    def __init__(self) -> None:
        self.body = bytearray()

    def feed(self, chunk: bytes, last: bool) -> None:
        self.body += chunk
        if not last:
            return
        for pair in bytes(self.body).split(b"&"):
            for piece in pair.split(b"=", 1):
                try:
                    unquote_to_bytes(piece.replace(b"+", b" ")).decode("utf-8")
                except UnicodeDecodeError:
                    raise _NotUtf8() from None


class _PartsForm(_TextCheck):
    """multipart/form-data: each part's headers are read; a part without a file name is text
    and is decoded as UTF-8 as it passes (incrementally, so nothing is kept)."""

    def __init__(self, boundary: bytes) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.name, self.value, self.is_file, self.broken = b"", b"", False, False
        self.parser = python_multipart.MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._name,
            "on_header_value": self._value, "on_header_end": self._header,
            "on_part_data": self._data, "on_part_end": self._end})

    def feed(self, chunk: bytes, last: bool) -> None:
        if self.broken:
            return
        try:
            self.parser.write(chunk)
        except UnicodeDecodeError:
            raise _NotUtf8() from None
        except MultipartParseError:
            self.broken = True      # not well formed: the app's own parser refuses it

    def _begin(self) -> None:
        self.decoder.reset()
        self.is_file = False

    def _name(self, data: bytes, start: int, end: int) -> None:
        self.name += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def _header(self) -> None:
        if self.name.lower() == b"content-disposition":
            self.is_file = b"filename" in parse_options_header(self.value)[1]
        self.name, self.value = b"", b""

    def _data(self, data: bytes, start: int, end: int) -> None:
        if not self.is_file:
            self.decoder.decode(data[start:end])

    def _end(self) -> None:
        if not self.is_file:
            self.decoder.decode(b"", final=True)
