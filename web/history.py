"""历史视图 (#13): the reading pages and the API as the system held them at a past instant.

`?as_of=2019-08-16T17:00` (Beijing time, ISO 8601; an offset may be given) on a page that can
show the past: its read connection answers as of the log then (projections/asof.py), its lights
and days overdue are those of that day, it offers no action, and every link and GET form on it
keeps the instant, so that a view can be followed and shared. The office and the auditor may use
it; the other roles answer to the present only (their scope is today's directory).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from fastapi import Request

from domain.clock import BEIJING, beijing
from domain.errors import InvalidInputError, NotPermittedError
from domain.periods import YEARS
from domain.values import Role
from projections.asof import Moment

PARAM = "as_of"
ROLES = frozenset({Role.OFFICE.value, Role.AUDITOR.value})
FORMAT = "2019-08-16 17:00"
# The pages that can show the past: a link elsewhere leads to the present.
PAST_PAGES = re.compile(r"/(tickets(?!/new)|ledger|queues|checks|rechecks|"
                        r"api/v1/(tickets|checks|rechecks|figures))?(?=[/?#]|$)")


def instant_of(request: Request, now: datetime) -> datetime | None:
    """The instant a request asks for, or None for the present; a Chinese 400 when it is not a
    time, not yet past, or asked of a page that cannot show the past."""
    text = request.query_params.get(PARAM, "").strip()
    if not text:
        return None
    if not PAST_PAGES.match(request.url.path):
        raise InvalidInputError("此页面不提供历史视图，请回到现在查看")
    try:
        instant = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise InvalidInputError(f"历史视图的时间应写作 {FORMAT}（北京时间）") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=BEIJING)
    if instant.year not in YEARS:
        raise InvalidInputError(f"历史视图的时间须在 {YEARS.start}—{YEARS.stop - 1} 年之间")
    if instant > now:
        raise InvalidInputError("历史视图的时间不能晚于现在")
    return instant


def may_look_back(request: Request, roles: frozenset[str]) -> None:
    """Only the office and the auditor look back, and only to read."""
    if not request.query_params.get(PARAM):
        return
    if not roles & ROLES:
        raise NotPermittedError("历史视图仅供创建办和审计人员使用")
    if request.method not in ("GET", "HEAD"):
        raise InvalidInputError("历史视图只读，不能在其中办理")


def instant_param(moment: Moment) -> str:
    """The instant as a link carries it: Beijing wall-clock time without its offset."""
    return beijing(moment.at).replace(tzinfo=None).isoformat()


def moment_of(request: Request) -> Moment | None:
    return getattr(request.state, "moment", None)


def not_after_then(request: Request, first_day: date) -> None:
    """A week or month that began after the instant has nothing to show of it (and the read
    models cannot say it as of then): refused in a view of the past."""
    moment = moment_of(request)
    if moment and first_day > moment.day:
        raise InvalidInputError(f"历史视图只能查看 {moment.label} 当时及以前的周、月")


def instant_asked(request: Request) -> datetime | None:
    """The instant of a view of the past, or None for the present."""
    moment = moment_of(request)
    return moment.at if moment else None


def now_of(request: Request, now: datetime) -> datetime:
    """The moment a page's figures are for: the instant's, or now."""
    moment = moment_of(request)
    return moment.at if moment else now


def day_of(request: Request, today: date) -> date:
    """The day whose lights a page shows: the instant's, or today."""
    moment = moment_of(request)
    return moment.day if moment else today


TAG = re.compile(r"<(a|form|button|div|tr|select|input)\b[^>]*>")
LINK = re.compile(r'\b(href|hx-get|action)="(/[^"]*)"')


def keep_instant(html: str, instant: str) -> str:
    """Every link, htmx GET and GET form to a page that can show the past carries the
    instant (a tag marked `data-now` leads back to the present)."""
    def tag(m: re.Match) -> str:
        text = m.group(0)
        if "data-now" in text or (m.group(1) == "form" and 'method="post"' in text):
            return text
        target = LINK.search(text)
        text = LINK.sub(lambda link: f'{link.group(1)}="{_with(link.group(2), instant)}"', text)
        if m.group(1) == "form" and (target is None or PAST_PAGES.match(target.group(2))):
            text += f'<input type="hidden" name="{PARAM}" value="{instant}">'
        return text
    return TAG.sub(tag, html)


def _with(url: str, instant: str) -> str:
    if not PAST_PAGES.match(url) or f"{PARAM}=" in url:
        return url
    path, _, fragment = url.partition("#")
    joined = f"{path}{'&amp;' if '?' in path else '?'}{PARAM}={instant}"
    return joined + (f"#{fragment}" if fragment else "")
