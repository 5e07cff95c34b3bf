"""Jinja2 set-up: Chinese labels, Beijing times, and pages that return their fragment alone to
htmx (with `Vary: HX-Request`, so a cache never mixes the two)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import Response

from domain.account import MIN_PASSWORD, PASSWORD_RULE
from domain.clock import beijing
from domain.commands import COMMANDS, VERDICTS, Field
from domain.delivery import CHANNELS
from domain.delivery import STATES as DELIVERY_STATES
from domain.directory import SCHOOL_LEVELS
from domain.indicators import indicators
from domain.lights import Light
from domain.periods import Week, day_label, moment_label
from domain.standard import plain_number
from domain.values import Category, Labelled, Role, Severity, Source, State
from web.conditional import with_etag
from web.history import instant_param, keep_instant, moment_of
from web.security import CSRF_FIELD, CSRF_HEADER, csrf_token

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.auto_reload = False   # templates change with a release, not while serving


def beijing_time(value: str | datetime | None, fmt: str | None = None) -> str:
    """A read model's ISO text or a datetime, as Beijing wall-clock time: as a person reads
    it (2026年11月6日 17:00), or in `fmt`."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    moment = beijing(moment) if moment.tzinfo else moment
    if fmt is None:
        return f"{cn_day(moment.date())} {moment:%H:%M}"
    return moment.strftime(fmt)


CODE = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*\b")


def named(text: str | None, names: dict[str, str]) -> str:
    """Unit codes and person ids in a line of text replaced by their names (timeline lines
    are written with codes, which read better as names)."""
    return CODE.sub(lambda m: names.get(m.group(0), m.group(0)), text or "")


def day(value: str | date | None) -> str:
    return str(value)[:10] if value else ""


def cn_day(value: str | date | None) -> str:
    """A day as a document writes it: 2019年8月23日."""
    if not value:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return day_label(day, year=True)


def cn_moment(value: str | datetime, year: bool = False) -> str:
    """An instant as a document writes it, Beijing time: 8月23日16:00 (with its year when
    asked: 2019年8月23日16:00)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment_label(moment, year=year)


def _labels(enum: type[Labelled]) -> dict[str, str]:
    return {member.value: member.label for member in enum}


def choices(enum: type[Labelled]) -> tuple[tuple[str, str], ...]:
    return tuple(_labels(enum).items())


def prefilled(ticket: dict, field: Field) -> Any:
    """What a command's field starts from on the ticket's page: the first of the ticket's
    fields the catalogue names that is set."""
    return next((ticket[name] for name in field.prefill if ticket.get(name)), None)


templates.env.filters["bj"] = beijing_time
templates.env.filters["day"] = day
templates.env.filters["cn_day"] = cn_day
templates.env.filters["cn_moment"] = cn_moment
templates.env.filters["named"] = named
templates.env.filters["figure"] = plain_number      # 3,796,600 (not 3796600.0)


def as_typed(value: Any) -> str:
    """A number as a form field holds it: 1682, 4812.6 (never 1682.0 or 3.7966e+06)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


templates.env.filters["as_typed"] = as_typed


def week_words(week: str) -> str:
    """An ISO week ("2019-W34", as URLs and records keep it) as a person reads it."""
    return Week.parse(str(week)).words


templates.env.filters["week_words"] = week_words


def month_words(month: str) -> str:
    """A month ("2019-08", as URLs keep it) as a person reads it: 2019年8月."""
    year, number = str(month).split("-")[:2]
    return f"{year}年{int(number)}月"


templates.env.filters["month_words"] = month_words
templates.env.globals.update(
    STATES=_labels(State), SEVERITIES=_labels(Severity), SOURCES=_labels(Source),
    CATEGORIES=_labels(Category), ROLES=_labels(Role), LIGHTS=_labels(Light),
    CSRF_FIELD=CSRF_FIELD, CSRF_HEADER=CSRF_HEADER, csrf_token=csrf_token,
    DELIVERY_STATES=DELIVERY_STATES, CHANNELS=CHANNELS, SCHOOL_LEVELS=SCHOOL_LEVELS,
    choices=choices, prefilled=prefilled,
    indicators=indicators, COMMANDS=COMMANDS, VERDICTS=VERDICTS,
    PASSWORD_RULE=PASSWORD_RULE, MIN_PASSWORD=MIN_PASSWORD,
)


def options(pairs, selected: str | Iterable[str] | None = None,
            blank: str | None = None) -> Markup:
    """<option>s for (value, label) pairs, the `selected` one (or ones, for a list) marked.
    The escaped pieces of each distinct list are kept (`_option_pieces`), as escaping a few
    hundred units anew on every page costs more than the rest of a list page."""
    pieces = _option_pieces(tuple(pairs))
    chosen = {selected} if selected is None or isinstance(selected, str) else set(selected)
    head = f'<option value="">{escape(blank)}</option>' if blank is not None else ""
    return Markup(head + "".join(f"{start} selected{end}" if value in chosen else start + end
                                 for value, start, end in pieces))


def grouped_options(groups, selected: str | Iterable[str] | None = None,
                    blank: str | None = None) -> Markup:
    """<optgroup>s of <option>s for (group label, pairs) groups, as `options` marks them."""
    head = f'<option value="">{escape(blank)}</option>' if blank is not None else ""
    return Markup(head + "".join(
        f'<optgroup label="{escape(label)}">{options(pairs, selected)}</optgroup>'
        for label, pairs in groups))


def person_options(look, selected: str | None, blank: str) -> Markup:
    """The people to choose from, each with its unit (`data-unit`), so the page can narrow
    the list to the unit chosen beside it (web/static/app.js)."""
    head = f'<option value="">{escape(blank)}</option>'
    return Markup(head + "".join(
        f'<option value="{escape(value)}" data-unit="{escape(look.person_units.get(value, ""))}"'
        f'{" selected" if value == selected else ""}>{escape(label)}</option>'
        for value, label in look.person_choices))


@lru_cache(maxsize=256)
def _option_pieces(pairs: tuple) -> tuple[tuple[str, str, str], ...]:
    return tuple((value, f'<option value="{escape(value)}"', f">{escape(label)}</option>")
                 for value, label in pairs)


@cache
def indicator_choices() -> tuple[tuple[str, str], ...]:
    return tuple((i.id, f"{i.seq} {i.name_zh}") for i in indicators().values())


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(request: Request, page: str, context: dict[str, Any], *, fragment: str | None = None,
           status_code: int = 200) -> Response:
    """The page, or only its fragment when htmx asks for it."""
    name = fragment if fragment and is_htmx(request) else page
    moment = moment_of(request)
    context = {"user": getattr(request.state, "user", None),
               "behind": getattr(request.state, "behind", False), "moment": moment,
               "instant": instant_param(moment) if moment else None, **context}
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    if moment:   # 历史视图: every link keeps the instant (web/history.py)
        response.body = keep_instant(bytes(response.body).decode(),
                                     context["instant"]).encode()
        response.headers["content-length"] = str(len(response.body))
    response.headers["Vary"] = "HX-Request"
    return with_etag(request, response)


def flash(request: Request, message: str) -> None:
    """A one-line notice shown on the next page drawn for this session."""
    request.session.setdefault("flash", []).append(message)


def take_flashes(request: Request) -> list[str]:
    return request.session.pop("flash", [])


templates.env.globals.update(take_flashes=take_flashes, options=options,
                             grouped_options=grouped_options, person_options=person_options,
                             indicator_choices=indicator_choices)
