"""问题清单, 问题详情 with the actions the user may take, 登记问题, and evidence files."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.responses import Response

from domain.commands import COMMANDS, OPEN
from domain.errors import DomainError, InvalidInputError, UnknownReferenceError
from domain.lights import Light
from domain.values import Role, State
from projections.evidence_rounds import evidence_rounds, ticket_file
from projections.queries import MAX_PAGE, REVERSED, SORTS, TicketFilter, list_tickets, timeline
from projections.queues import ticket_dealings
from projections.runs import told_about
from web.deps import App, Config, Look, PostedForm, ReadDb, SignedIn, Unchanged, allow
from web.errors import status_of
from web.feedback import tell, told
from web.forms import Uploads, expected_version, read_fields, typed
from web.history import day_of, instant_asked, moment_of
from web.routes.bulletins import OUTBOX_READERS
from web.templating import flash, is_htmx, render
from web.users import User

router = APIRouter()
Opener = Annotated[User, Depends(allow(*OPEN.roles))]
Office = Annotated[User, Depends(allow(*COMMANDS["assign"].roles))]
BULK_LIMIT = 200
NAMED = 5       # failures a bulk message names: it travels in the session cookie
Actor = Annotated[User, Depends(allow(*{r for c in COMMANDS.values() for r in c.roles}))]
SORT_CHOICES = [("light", "红灯优先"), ("newest", "最新登记"), ("deadline", "完成时限"),
                ("overdue", "逾期天数"), ("opened", "发现时间"), ("number", "问题编号"),
                ("town", "镇街")]
MINE = {"opened": "我登记的", "responsible": "我负责的"}
SUPERVISE_DAYS = 3      # working days a 督办单 gives to be put right
PER_PAGE = 50
FILTERS = ("town", "unit", "state", "light", "indicator", "severity", "source", "leader")


@router.get("/tickets")
def ticket_list(request: Request, _: Unchanged, app: App, db: ReadDb, look: Look, config: Config,
                user: SignedIn, q: str = "", sort: str = "light", desc: bool = False,
                page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
                town: str = "", unit: str = "", state: str = "", light: str = "",
                indicator: str = "", severity: str = "", source: str = "", leader: str = "",
                mine: str = ""):
    """The tickets one may see, filtered, sorted and a page at a time."""
    if light and light not in {x.value for x in Light}:
        raise InvalidInputError("请从红黄绿灯的选项中选择："
                                f"{'、'.join(x.label for x in Light if x is not Light.NONE)}或无灯")
    check_sort(sort)
    chosen = {"town": town, "unit": unit, "state": state, "light": light,
              "indicator": indicator, "severity": severity, "source": source, "leader": leader}
    return _list_page(request, app, db, look, config, user, chosen, q, sort, desc, page,
                      mine=mine, said=None if is_htmx(request) else told(request))


def check_sort(sort: str) -> None:
    if sort not in SORTS and sort not in REVERSED:
        raise InvalidInputError(f"无法按 {sort[:20]} 排序")


def ticket_filter(app, user: User, chosen: dict, q: str | None, mine: str | None) -> TicketFilter:
    """What the list page and the API narrow a list by, for this user (我的 as it may ask)."""
    if mine and mine not in mine_choices(user):
        raise InvalidInputError(f"“我的”可选：{'、'.join(mine_choices(user).values()) or '无'}")
    return TicketFilter(**{k: v or None for k, v in chosen.items()}, text=q or None,
                        sight=user.sight(app), opened_by=user.login if mine == "opened" else None,
                        responsible=(user.person_id, user.unit_id) if mine == "responsible"
                        else None)


def mine_choices(user: User) -> dict[str, str]:
    """我登记的 for whoever opens tickets; 我负责的 for a unit or a person answering for them."""
    found = {}
    if user.has(*OPEN.roles):
        found["opened"] = MINE["opened"]
    if user.has(Role.UNIT) or user.person_id:
        found["responsible"] = MINE["responsible"]
    return found


def _list_page(request: Request, app, db, look, config, user: User, chosen: dict, q: str,
               sort: str, desc: bool, page: int, *, mine: str = "", said: dict | None = None,
               status_code: int = 200) -> Response:
    """The list page; `said` is what the bulk form says (its outcome, or why it was refused
    with what was sent in it)."""
    f = ticket_filter(app, user, chosen, q, mine)
    results = list_tickets(db, f, day_of(request, app.today()), config.warn_days, sort=sort,
                           descending=desc, page=page, per_page=PER_PAGE)
    query = {k: v for k, v in {**chosen, "q": q, "sort": sort, "mine": mine}.items() if v}
    if desc:
        query["desc"] = "true"
    return render(request, "tickets.html", {
        "results": results, "chosen": chosen, "q": q, "sort": sort, "desc": desc,
        "query": query, "towns": look.town_choices,
        "leaders": look.leader_choices, "sort_choices": SORT_CHOICES,
        "bulk": COMMANDS["assign"] if user.has(*COMMANDS["assign"].roles)
        and not moment_of(request) else None,
        "places": look.place_choices, "place_groups": look.place_groups, "said": said,
        "mine": mine, "mine_choices": tuple(mine_choices(user).items()),
    }, fragment="_ticket_results.html", status_code=status_code)


@router.get("/tickets/new")
def new_ticket_page(request: Request, look: Look, user: Opener):
    """The form an inspector fills in on site."""
    return render(request, "ticket_new.html", _new_context(look, {}, None))


def _new_context(look, values: dict, error: str | None) -> dict:
    return {"command": OPEN, "look": look, "values": values, "error": error}


@router.post("/tickets/new")
def open_ticket(request: Request, app: App, look: Look, config: Config, user: Opener,
                form: PostedForm):
    """Record a finding with its photos; then show it."""
    try:
        fields = read_fields(form, OPEN.fields, Uploads(config, user.login, app.today()))
        number = app.open_ticket(user.login, **fields)
    except DomainError as error:
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        return render(request, "ticket_new.html", _new_context(look, values, error.message),
                      status_code=status_of(error))
    flash(request, f"{OPEN.done} {number}")
    return RedirectResponse(f"/tickets/{number}", status_code=303)


def _detail(request: Request, app, db, user: User, number: str, *, error: str | None = None,
            notice: str | None = None, used: str | None = None, values: dict | None = None,
            status_code: int = 200, filing: bool = False) -> Response:
    """The ticket page; `error` is said in the form of the command `used`, drawn with the
    `values` it was sent with, and `notice` at the head of the actions. `filing`: the
    ticket's file (一问题一档) instead, everything expanded and no actions, to print."""
    config = request.app.state.config
    ticket = user.visible_ticket(app, db, number, config.warn_days, day_of(request, app.today()))
    look = request.app.state.reads.lookups(db)
    actions = [] if moment_of(request) or filing else app.allowed_commands(number, user.login)
    told = told_about(db, number, instant_asked(request))
    return render(request, "ticket_file.html" if filing else "ticket.html", {
        "filing": filing, "county": config.county_name, "now": app.now(),
        "t": ticket | ticket_dealings(db, ticket), "events": timeline(db, ticket["id"]),
        "told": told, "may_read_outbox": user.has(*OUTBOX_READERS),
        "names": look.names,
        "actions": [COMMANDS[name] for name in actions], "error": error, "notice": notice,
        "used": used, "typed": values or {}, "look": look, **_evidence(config, db, ticket),
    }, fragment=None if filing else "_ticket.html", status_code=status_code)


def _evidence(config, db, ticket: dict) -> dict:
    """Every round's files (projections/evidence_rounds.py), and what the store reads from
    the photos recorded before their references carried their EXIF facts."""
    rounds = evidence_rounds(db, ticket["id"])
    files = [f for r in rounds for e in r["entries"] for f in e["files"]]
    return {"rounds": rounds, "facts": {
        f["sha256"]: config.evidence.facts(f["sha256"]) for f in files
        if f["content_type"].startswith("image/") and not ("taken_at" in f or "gps" in f)}}


BULK_PAGE = f"/tickets?state={State.OPENED.value}"


@router.post("/tickets/bulk-assign")
def bulk_assign(request: Request, app: App, db: ReadDb, look: Look, config: Config,
                user: Office, form: PostedForm):
    """交办 several new tickets at once (the office): each to the chosen lead unit, or to the
    unit where its problem is, with the deadline given or else the one it was opened with;
    one that cannot be assigned is named and the rest go on."""
    numbers = [n for n in form.getlist("numbers") if isinstance(n, str)][:BULK_LIMIT]
    assign = COMMANDS["assign"]
    try:
        if not numbers:
            raise InvalidInputError("请先勾选要交办的问题")
        fields = read_fields(form, (assign.field("deadline"), assign.field("note")),
                             Uploads(config, user.login, app.today()))
    except DomainError as error:    # the list again, the form as it was sent
        said = {"at": "bulk-assign", "text": error.message, "error": True,
                "typed": typed(form, assign.fields), "numbers": numbers}
        chosen = dict.fromkeys(FILTERS, "") | {"state": State.OPENED.value}
        return _list_page(request, app, db, look, config, user, chosen, "", "light", False, 1,
                          said=said, status_code=status_of(error))
    lead = form.get("lead_unit_id") or None
    done, failed = [], []
    for number in numbers:
        try:
            unit = lead or app.ticket(number)["unit_id"]
            app.assign(number, user.login, lead_unit_id=unit, **fields)
            done.append(number)
        except DomainError as error:
            failed.append(f"{number}：{error.message}")
    return tell(request, BULK_PAGE, "bulk-assign", f"{assign.done} {len(done)} 项" + (
        f"；未能{assign.label} {len(failed)} 项：" + "；".join(failed[:NAMED])
        + ("……" if len(failed) > NAMED else "") if failed else ""))


@router.get("/tickets/{number}")
def ticket_detail(request: Request, _: Unchanged, app: App, db: ReadDb, user: SignedIn,
                  number: str):
    """Every field, the evidence before and after, the timeline and the actions one may take."""
    note = told(request)
    return _detail(request, app, db, user, number, notice=note and note["text"])


@router.get("/tickets/{number}/file")
def ticket_dossier(request: Request, app: App, db: ReadDb, user: SignedIn, number: str):
    """一问题一档: the ticket's whole file (fields, every step with its details, the evidence
    round by round, the bulletins and messages that named it), laid out for A4."""
    return _detail(request, app, db, user, number, filing=True)


@router.get("/tickets/{number}/supervise")
def supervision_notice(request: Request, app: App, db: ReadDb, user: SignedIn, number: str):
    """督办单: a printable notice to the lead unit of an overdue ticket, from 创建办."""
    config = request.app.state.config
    today = day_of(request, app.today())
    ticket = user.visible_ticket(app, db, number, config.warn_days, today)
    if not ticket["days_overdue"]:
        raise InvalidInputError(f"问题 {number} 没有逾期，不需要督办单")
    look = request.app.state.reads.lookups(db)
    return render(request, "supervise.html", {
        "t": ticket, "names": look.names, "county": config.county_name, "today": today,
        "reply_days": SUPERVISE_DAYS})


@router.post("/tickets/{number}/{command}")
def act(request: Request, app: App, db: ReadDb, config: Config, user: Actor, form: PostedForm,
        number: str, command: str):
    """One action on the ticket: a 303 back to it at its actions, or (htmx) the ticket drawn
    again; refused, the ticket drawn again with the form as it was sent and the reason in it."""
    if command not in COMMANDS:
        raise UnknownReferenceError("没有这个操作")
    user.visible_ticket(app, db, number, config.warn_days)
    spec = COMMANDS[command]
    try:
        kwargs = read_fields(form, spec.fields, Uploads(config, user.login, app.today()))
        getattr(app, spec.method)(number, user.login, expected_version=expected_version(form),
                                  **kwargs)
    except DomainError as error:
        request.app.state.reads.catch_up()
        return _detail(request, app, db, user, number, error=error.message, used=command,
                       values=typed(form, spec.fields), status_code=status_of(error))
    if is_htmx(request):     # the notice goes with the redrawn ticket, not to the next page
        request.app.state.reads.catch_up()
        return _detail(request, app, db, user, number, notice=spec.done)
    return tell(request, f"/tickets/{number}", "actions", spec.done)


def _evidence_item(request: Request, app, db, user: User, number: str, sha256: str) -> dict:
    """One evidence file of a ticket the user may see; never any other file."""
    config = request.app.state.config
    ticket = user.visible_ticket(app, db, number, config.warn_days)
    item = ticket_file(db, ticket["id"], sha256)     # from any round, current or not
    if item is None or not config.evidence.path(sha256).is_file():
        raise UnknownReferenceError("未找到该证据文件")
    return item


@router.get("/tickets/{number}/evidence/{sha256}")
def evidence_file(request: Request, app: App, db: ReadDb, user: SignedIn, number: str,
                  sha256: str):
    """An evidence file of a ticket one may see: a photo shown in the browser, anything else
    (a PDF) saved, never opened in the system's own pages."""
    item = _evidence_item(request, app, db, user, number, sha256)
    kind = item["content_type"]
    return FileResponse(request.app.state.config.evidence.path(sha256), media_type=kind,
                        content_disposition_type="inline" if kind.startswith("image/")
                        else "attachment", filename=download_name(item["name"], kind),
                        headers={"Cache-Control": "private, max-age=3600"})


def download_name(label: str, content_type: str) -> str:
    """The name a file is saved under: its label with the extension of what it is, found by
    its content when it was stored (a PNG labelled 报告.html is saved as 报告.png)."""
    extension = mimetypes.guess_extension(content_type) or "." + content_type.rsplit("/", 1)[-1]
    stem = PurePosixPath(label).stem or "证据"
    return stem + extension


@router.get("/tickets/{number}/evidence/{sha256}/thumb")
def evidence_thumbnail(request: Request, app: App, db: ReadDb, user: SignedIn, number: str,
                       sha256: str):
    """A small JPEG of an evidence photo (404 for files that are not pictures)."""
    _evidence_item(request, app, db, user, number, sha256)
    small = request.app.state.config.evidence.thumbnail(sha256)
    if small is None:
        raise UnknownReferenceError("该文件没有缩略图")
    return FileResponse(small, media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=86400"})
