"""JSON API: tickets — list with the page's filters, get, open, assign, rectify, reinspect,
close. Every write takes `expected_version`; a stale one answers 409."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from itsdangerous import BadData, URLSafeTimedSerializer
from pydantic import BaseModel, Field

from domain.errors import InvalidInputError
from domain.values import Role
from projections.queries import SORTS, TicketFilter, list_tickets, timeline
from web.deps import App, ReadDb, api_allow
from web.users import User
from xiaohao.evidence import store_bytes

router = APIRouter(prefix="/api/v1", tags=["tickets"])
Reader = Annotated[User, Depends(api_allow(*Role))]
Opener = Annotated[User, Depends(api_allow(Role.INSPECTOR, Role.OFFICE))]
Worker = Annotated[User, Depends(api_allow(Role.INSPECTOR, Role.OFFICE, Role.UNIT, Role.LEADER))]
Uploader = Annotated[User, Depends(api_allow(Role.INSPECTOR, Role.OFFICE, Role.UNIT))]


class EvidenceRef(BaseModel):
    """A file uploaded to POST /api/v1/evidence; name it by `ref` in a later call (within a
    day, by the same user)."""
    ref: str
    sha256: str
    name: str
    content_type: str
    size: int


Refs = list[str]
REF_MAX_AGE = 24 * 3600


class Versioned(BaseModel):
    expected_version: int | None = Field(None, description="您看到的版本；已被他人修改时返回 409")


class OpenTicket(BaseModel):
    title: str
    description: str = ""
    unit_id: str = Field(description="问题所在学校或单位的编码")
    category: str
    severity: str = "normal"
    source: str = "weekly_check"
    indicator_id: str | None = None
    deadline: date | None = None
    leader_ids: list[str] = []
    evidence: Refs = Field([], description="`ref`s of files from POST /api/v1/evidence")


class Assign(Versioned):
    lead_unit_id: str
    co_unit_ids: list[str] = []
    person_id: str | None = None
    leader_ids: list[str] = []
    deadline: date
    note: str = ""


class Rectify(Versioned):
    measures: str
    completed_on: date | None = None
    evidence: Refs = Field([], description="`ref`s of files from POST /api/v1/evidence")


class Reinspect(Versioned):
    passed: bool
    findings: str = ""
    evidence: Refs = Field([], description="`ref`s of files from POST /api/v1/evidence")


class Close(Versioned):
    note: str = ""


def _ticket(request: Request, app, db, user: User, number: str) -> dict:
    return user.visible_ticket(app, db, number, request.app.state.settings.warn_days)


def _signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.session_secret(), salt="evidence")


def _evidence(request: Request, user: User, refs: Refs) -> list[dict]:
    """The files behind `ref`s this user received from POST /api/v1/evidence: nobody can name
    a file someone else uploaded, nor say what it is (its type and size were measured)."""
    files = []
    for ref in refs:
        try:
            item = _signer(request).loads(ref, max_age=REF_MAX_AGE)
        except BadData:
            raise InvalidInputError("证据引用无效或已过期，请先通过 /api/v1/evidence 上传文件") from None
        if item.pop("login", None) != user.login:
            raise InvalidInputError("证据引用不属于当前用户")
        files.append(item)
    return files


@router.get("/tickets")
def api_list(request: Request, app: App, db: ReadDb, user: Reader,
             town: str | None = None, unit: str | None = None, state: str | None = None,
             light: str | None = None, indicator: str | None = None,
             severity: str | None = None, source: str | None = None,
             leader: str | None = None, q: str | None = None, sort: str = "light",
             desc: bool = False, page: Annotated[int, Query(ge=1)] = 1,
             per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Tickets one may see, with the same filters as 问题清单."""
    if sort not in SORTS:
        raise InvalidInputError(f"无法按 {sort[:20]} 排序")
    if light not in (None, "red", "yellow", "green"):
        raise InvalidInputError("light 只能是 red、yellow 或 green")
    f = TicketFilter(town=town, unit=unit, state=state, light=light, indicator=indicator,
                     severity=severity, source=source, leader=leader, text=q,
                     scope=user.scope(app))
    found = list_tickets(db, f, app.today(), sort=sort, descending=desc, page=page,
                         per_page=per_page, warn_days=request.app.state.settings.warn_days)
    return {"total": found.total, "page": found.page, "per_page": found.per_page,
            "items": found.rows}


@router.get("/tickets/{number}")
def api_get(request: Request, app: App, db: ReadDb, user: Reader, number: str) -> dict:
    """One ticket with its timeline."""
    ticket = _ticket(request, app, db, user, number)
    return {**ticket, "timeline": timeline(db, ticket["id"])}


def _after(request: Request, app, db, user: User, number: str) -> dict:
    """The ticket as the command left it."""
    request.app.state.reads.catch_up()
    return _ticket(request, app, db, user, number)


@router.post("/tickets", status_code=201)
def api_open(request: Request, response: Response, app: App, user: Opener,
             body: OpenTicket) -> dict:
    """Record a finding; answers its number and where to read it (GET that for the whole
    ticket: the read models catch up first, so it is there)."""
    fields = body.model_dump()
    fields["evidence"] = _evidence(request, user, body.evidence)
    number = app.open_ticket(user.login, **fields)
    url = f"/api/v1/tickets/{number}"
    response.headers["Location"] = url
    return {"number": number, "version": 1, "url": url}


def _command(request: Request, app, db, user: User, number: str, method: str,
             body: BaseModel) -> dict:
    """A command on a ticket the user may see; answers the ticket as the command left it.
    Files are named by the `ref`s their upload returned."""
    _ticket(request, app, db, user, number)
    fields = body.model_dump()
    if "evidence" in fields:
        fields["evidence"] = _evidence(request, user, fields["evidence"])
    getattr(app, method)(number, user.login, **fields)
    return _after(request, app, db, user, number)


@router.post("/tickets/{number}/assign")
def api_assign(request: Request, app: App, db: ReadDb, user: Opener, number: str,
               body: Assign) -> dict:
    """交办: lead and co-responsible units, person, deadline."""
    return _command(request, app, db, user, number, "assign", body)


@router.post("/tickets/{number}/rectify")
def api_rectify(request: Request, app: App, db: ReadDb, user: Worker, number: str,
                body: Rectify) -> dict:
    """提交整改 with evidence."""
    return _command(request, app, db, user, number, "rectify", body)


@router.post("/tickets/{number}/reinspect")
def api_reinspect(request: Request, app: App, db: ReadDb, user: Worker, number: str,
                  body: Reinspect) -> dict:
    """复查: passed or returned."""
    return _command(request, app, db, user, number, "reinspect", body)


@router.post("/tickets/{number}/close")
def api_close(request: Request, app: App, db: ReadDb, user: Worker, number: str,
              body: Close) -> dict:
    """销号."""
    return _command(request, app, db, user, number, "close_ticket", body)


@router.post("/evidence", status_code=201)
def api_upload(request: Request, user: Uploader,
               file: Annotated[UploadFile, File()]) -> EvidenceRef:
    """Upload one file (jpg/png/webp/heic/pdf, checked by content); name it in a later call."""
    settings = request.app.state.settings
    limit = settings.upload_limit_mb * 2**20
    stored = store_bytes(file.file.read(limit + 1), file.filename or "", settings.evidence_dir,
                         limit).as_dict()
    return EvidenceRef(ref=_signer(request).dumps(stored | {"login": user.login}), **stored)
