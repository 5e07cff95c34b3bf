"""Conditional GET: a page's ETag says everything the page is drawn from, so a browser asking
again for a page nothing has changed on is answered 304 before its queries run or its template
is drawn.

What a page is drawn from: the read models' position (every change is an event), who asks (the
whole session: the account, its form token, any note waiting to be said), the day in Beijing
(the lights and days overdue move at midnight), the address, whether htmx asks for a part, and
this release's templates and code. Pages are sent `private, no-cache` (web/security.py), so a
browser keeps them but asks each time. A page shown as of an instant (历史视图) or while the
read models are catching up gets no ETag.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response

from web.security import csrf_token

CODE = Path(__file__).parents[1]
DRAWN_BY = ("web", "projections", "domain")     # the packages a page's content comes from


class NotModified(Exception):
    """The page the request names is the one it already has (answered 304, web/errors.py)."""

    def __init__(self, etag: str) -> None:
        self.etag = etag


def conditional(request: Request, position: int | None, today: str) -> None:
    """Note the page's ETag for `render` to send, or raise NotModified when the request's
    If-None-Match names it. `position` None (behind, or looking back): no ETag."""
    if position is None or request.method != "GET":
        return
    csrf_token(request)     # made now if the page would make it, so the session is as it will be
    etag = _etag(request, position, today)
    request.state.etag = etag
    if etag in _tags(request.headers.get("if-none-match", "")):
        raise NotModified(etag)


def with_etag(request: Request, response: Response) -> Response:
    """`response` with the ETag noted for its request, when it is the page itself (200)."""
    etag = getattr(request.state, "etag", None)
    if etag and response.status_code == 200:
        response.headers["ETag"] = etag
    return response


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag})


def _etag(request: Request, position: int, today: str) -> str:
    session = json.dumps(dict(request.session), sort_keys=True, default=str)
    parts = [_release(), str(position), today, request["path"],
             request["query_string"].decode("latin-1"),
             request.headers.get("hx-request", ""), request.headers.get("hx-target", ""),
             session]
    return 'W/"' + hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest() + '"'


def _tags(header: str) -> set[str]:
    """The tags of an If-None-Match header, weak or not (a weak comparison)."""
    return {t.strip() if t.strip().startswith("W/") else f"W/{t.strip()}"
            for t in header.split(",") if t.strip()}


@cache
def _release() -> str:
    """This release's templates and code: a page drawn by another release is another page."""
    digest = hashlib.blake2b(digest_size=8)
    for package in DRAWN_BY:
        for path in sorted((CODE / package).rglob("*")):
            if path.suffix in {".html", ".py"}:
                digest.update(path.read_bytes())
    return digest.hexdigest()
