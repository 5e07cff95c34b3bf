"""周通报 (the archive and each 期, laid out as a government 通报 and printable on A4; a draft
the office edits and 签发s) and 发件箱 (every digest and reminder with where it stands; the
office sends a failed one again)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import HTMLResponse

from domain.delivery import KINDS, STATES
from domain.errors import DomainError, InvalidInputError, UnknownReferenceError
from domain.periods import Week
from domain.values import Role
from projections.directory_views import names
from projections.runs import (
    OutboxFilter,
    bulletin_as_seen,
    outbox,
    outbox_counts,
    outbox_recipients,
    run_of,
    runs_of,
)
from web.charts import town_bars, weekly_columns
from web.deps import App, Config, PostedForm, ReadDb, SignedIn, Stamp, allow
from web.errors import status_of
from web.templating import flash, render
from web.users import User

router = APIRouter()
Office = Annotated[User, Depends(allow(Role.OFFICE))]
OUTBOX_READERS = (Role.OFFICE, Role.AUDITOR)     # 发件箱, on the page and in the API
OutboxReader = Annotated[User, Depends(allow(*OUTBOX_READERS))]
DRAFT_READERS = (Role.OFFICE, Role.AUDITOR)     # who reads a bulletin before it is signed
PER_PAGE = 100
# The mail's own HTML, shown alone: its inline styles are allowed, nothing else is.
MAIL_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"


def reads_drafts(user: User) -> bool:
    return user.has(*DRAFT_READERS)


@router.get("/bulletins")
def bulletin_archive(request: Request, db: ReadDb, user: SignedIn):
    """Every 期 signed, newest first (and the drafts, for the office and the auditor)."""
    return render(request, "bulletins.html",
                  {"runs": runs_of(db, "bulletin", drafts=reads_drafts(user))})


def published(db, user: User, week: str) -> dict:
    """The week's bulletin as this user may read it: signed, or a draft for its readers."""
    words = Week.parse(week).words
    run = run_of(db, "bulletin", week)
    if run is None or (run["draft"] and not reads_drafts(user)):
        raise UnknownReferenceError(f"{words}的周通报尚未发布")
    return run


@router.get("/bulletins/{week}")
def bulletin_page(request: Request, app: App, db: ReadDb, user: SignedIn, week: str):
    """One 期 as it was signed: a 通报 a county office would print and send round; while it
    is a draft, the office's preview with its 表扬, 批评 and closing paragraph to edit."""
    return _bulletin(request, app, db, user, published(db, user, week))


def _bulletin(request: Request, app, db, user: User, run: dict, *, typed: dict | None = None,
              error: str = "", status_code: int = 200):
    sight = user.sight(app)
    may_sign = bool(run["draft"]) and user.has(Role.OFFICE)
    if may_sign:     # the form holds the draft as it now stands, and which version that is
        live = app.cycle_run("bulletin", run["period"])
        run = run | {"document": live["document"], "version": live["version"]}
    document = run["document"] or {}
    return render(request, "bulletin.html", {
        "run": run, "c": bulletin_as_seen(db, run["content"], sight),
        "document": document, "typed": typed or _as_lines(document), "error": error,
        "may_sign": may_sign,
        "county": app.directory().county_name, "scoped": not sight.everything,
        "chart": town_bars([(t["name"], t["closure_rate"]) for t in run["content"]["towns"]]),
        "trend": weekly_columns(run["content"]["trend"]),
    }, status_code=status_code)


def _as_lines(document: dict) -> dict:
    """The document as its form shows it: one 表扬 or 批评 item a line."""
    return {"praise": "\n".join(document.get("praise", [])),
            "criticism": "\n".join(document.get("criticism", [])),
            "closing": document.get("closing", "")}


@router.post("/bulletins/{week}")
def bulletin_sign(request: Request, app: App, db: ReadDb, user: Office, form: PostedForm,
                  stamp: Stamp, week: str):
    """The office saves the draft (保存草稿) or signs it (签发): 表扬 and 批评 one item a
    line, and the closing paragraph. A refusal draws the page again with what was typed."""
    run = published(db, user, week)
    typed = {part: str(form.get(part, "")) for part in ("praise", "criticism", "closing")}
    parts = [typed["praise"].splitlines(), typed["criticism"].splitlines(), typed["closing"]]
    written = any(part in form for part in typed)     # without the text: as it was saved
    version = _version(form.get("version"))
    try:
        if form.get("then") == "sign":
            signed = app.sign_bulletin(user.login, week, *(parts if written else ()),
                                       version=version, stamp=stamp)
            flash(request, f"第{signed['number']}期周通报已签发（{signed['document_number']}），"
                           "各包保领导和责任单位的周报摘要随即发出")
        else:
            app.edit_bulletin(user.login, week, *parts, version=version)
            flash(request, "草稿已保存，尚未签发")
    except DomainError as error:
        return _bulletin(request, app, db, user, run, typed=typed, error=str(error),
                         status_code=status_of(error))
    return RedirectResponse(f"/bulletins/{week}", status_code=303)


def _version(text) -> int | None:
    """The draft's version the form was drawn from (none: not checked)."""
    try:
        return int(str(text)) if text else None
    except ValueError:
        raise InvalidInputError("表单已失效，请刷新页面后重试") from None


def outbox_filter(state: str, recipient: str, kind: str, week: str) -> OutboxFilter:
    """发件箱's filters as asked (the page's and the API's), each checked."""
    if state and state not in STATES:
        raise InvalidInputError(f"发送状态只能是：{_named(STATES)}")
    if kind and kind not in KINDS:
        raise InvalidInputError(f"类别只能是：{_named(KINDS)}")
    return OutboxFilter(state=state or None, recipient=recipient.strip()[:80] or None,
                        kind=kind or None, week=week_of(week) if week else None)


def week_of(text: str) -> Week:
    """A week as asked: an ISO week ("2019-W34", as links keep it) or any day of it (the
    page's date picker)."""
    if "-W" in text:
        return Week.parse(text)
    try:
        return Week.of(date.fromisoformat(text))
    except ValueError:
        raise InvalidInputError("所在周请选一个日期，如 2019-08-21") from None


def _recipient_label(row: dict, named: dict[str, str]) -> str:
    """Who a recipient is, told apart: a unit's digests by the unit ("丁振华（洙泗中学负责人）"),
    the same person's own notices by their role."""
    unit = row["key"].removeprefix("unit-") if row["key"].startswith("unit-") else None
    if unit is None:
        return f"{row['name']}（{row['role']}）"
    head = f"{named.get(unit, unit)}负责人"
    return row["name"] if row["name"] == head else f"{row['name']}（{head}）"


def _named(choices: dict[str, str]) -> str:
    return "、".join(f"{label}（{code}）" for code, label in choices.items())


@router.get("/outbox")
def outbox_page(request: Request, db: ReadDb, user: OutboxReader, state: str = "",
                recipient: str = "", kind: str = "", week: str = "",
                page: Annotated[int, Query(ge=1, le=100_000)] = 1):
    """发件箱: what the cycle sent or is sending, newest first; what one person was told, of
    one kind, in one week, in one state."""
    chosen = outbox_filter(state, recipient, kind, week)
    named = names(db)
    query = {k: v for k, v in {"recipient": recipient, "kind": kind, "week": week}.items() if v}
    return render(request, "outbox.html", {
        "rows": outbox(db, chosen, PER_PAGE, (page - 1) * PER_PAGE),
        "counts": outbox_counts(db), "state": state, "page": page, "per_page": PER_PAGE,
        "week_day": chosen.week.first_day.isoformat() if chosen.week else "",
        "may_retry": user.has(Role.OFFICE),
        "recipients": [(r["key"], _recipient_label(r, named)) for r in outbox_recipients(db)],
        "chosen": chosen, "query": query, "kinds": KINDS,
    })


@router.get("/outbox/{delivery}")
def outbox_message(request: Request, app: App, db: ReadDb, config: Config,
                   user: OutboxReader, delivery: str):
    """One message: its headers, its plain text, and a link to its HTML."""
    d = app.delivery(delivery)
    text, _ = config.mail.bodies(d)
    return render(request, "outbox_message.html", {"d": d, "text": text,
                                                   "record": app.delivery_record(delivery),
                                                   "built_from": _built_from(db, d),
                                                   "may_retry": user.has(Role.OFFICE)})


def _built_from(db, d: dict) -> int | None:
    """The log position a message was built from: its run's (a notice is built from the
    event it tells of, which its page names)."""
    run = run_of(db, d["kind"], d["period"]) if d["kind"] != "notice" else None
    return run["position"] if run else None


@router.get("/outbox/{delivery}/html")
def outbox_message_html(app: App, config: Config, user: OutboxReader, delivery: str):
    """The message's HTML as a mail client shows it."""
    _, html = config.mail.bodies(app.delivery(delivery))
    return HTMLResponse(html, headers={"Content-Security-Policy": MAIL_CSP})


@router.post("/outbox/{delivery}/retry")
def outbox_retry(request: Request, app: App, user: Office, form: PostedForm, delivery: str):
    """重发: a failed message goes back in the queue, with a fresh count of attempts."""
    app.requeue_delivery(user.login, delivery)
    flash(request, "已重新排队，稍后发送")
    return RedirectResponse(f"/outbox/{delivery}", status_code=303)
