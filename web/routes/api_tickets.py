"""JSON API: tickets — list with the page's filters, get, open, and every command of the
catalogue (domain/commands.py) as POST /api/v1/tickets/{number}/{command}, its body made from
the command's fields. Every command takes `expected_version`; a stale one answers 409."""

# No `from __future__ import annotations` here: the command routes are made in a loop, and
# FastAPI must see their body types as objects, not as names to look up in this module.

from datetime import date
from types import NoneType, UnionType
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile
from itsdangerous import BadData, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field, create_model

from domain.commands import COMMANDS, OPEN, Command
from domain.errors import InvalidInputError
from domain.lights import Light
from domain.periods import parse_day
from domain.values import Role
from projections.queries import REVERSED, SORTS, list_tickets, timeline
from projections.runs import told_about
from web.api_models import AsOf, Opened, Ticket, TicketPage
from web.deps import App, Config, ReadDb, api_allow
from web.forms import Uploads
from web.history import day_of, instant_asked, moment_of
from web.openapi import ALWAYS, problems
from web.routes.tickets import check_sort, ticket_filter
from web.users import User

router = APIRouter(prefix="/api/v1", tags=["tickets"], responses=problems(*ALWAYS))
Reader = Annotated[User, Depends(api_allow(*Role))]
Opener = Annotated[User, Depends(api_allow(*OPEN.roles))]
Uploader = Annotated[User, Depends(api_allow(*{r for c in (OPEN, *COMMANDS.values())
                                                  if c.uploads for r in c.roles}))]
REF_MAX_AGE = 24 * 3600
FILES = "`ref`s of files from POST /api/v1/evidence"
# field kind -> (its type, its value when left out; ... when it must be given)
KINDS: dict[str, tuple[Any, Any]] = {
    "line": (str, ""), "text": (str, ""), "choice": (str, None), "date": (date | None, None),
    "unit": (str | None, None), "person": (str | None, None), "indicator": (str | None, None),
    "units": (list[str], []), "leaders": (list[str], []), "verdict": (bool, ...),
    "files": (list[str], []), "instruction": (int | None, None),
}
# field kind -> an example valid in the demo county (xiaohao/demo.py)
EXAMPLES: dict[str, Any] = {
    "line": "缺少音乐专用教室1间", "text": "已腾出一间教室改建为音乐教室", "date": "2019-09-30",
    "unit": "T03-P01", "person": "H-T03-P01", "indicator": "gov_music_art_rooms",
    "units": ["T03"], "leaders": ["L1"], "verdict": True, "files": [], "instruction": 1,
}
NUMBER = Path(description="问题编号", examples=["SS-2019-0031"])
AsOfQuery = Annotated[str | None, Query(
    description="历史视图：所示为该时刻系统所记载的状态（ISO 8601，不带时区即北京时间，"
                "如 2019-08-16T17:00）；仅创建办与审计可用", examples=["2019-08-16T17:00"])]


class EvidenceRef(BaseModel):
    """A file uploaded to POST /api/v1/evidence; name it by `ref` in a later call (within a
    day, by the same user)."""
    ref: str
    sha256: str
    name: str
    content_type: str
    size: int
    taken_at: str | None = Field(None, description="照片自带的拍摄时间（EXIF），如有")
    gps: tuple[float, float] | None = Field(None, description="照片自带的拍摄地点 [纬度, 经度]，如有")


class Body(BaseModel):
    """A command's body: a field it does not take is refused (422), not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Versioned(Body):
    expected_version: int | None = Field(None, description="您看到的版本；已被他人修改时返回 409")


def body_model(command: Command, base: type[BaseModel] = Body) -> type[BaseModel]:
    """The JSON body of a command: its catalogue fields, typed by their kind."""
    fields = {}
    for f in command.fields:
        kind, missing = KINDS[f.kind]
        description = FILES if f.kind == "files" else f.label + f.hint
        if f.kind in ("line", "text"):
            description += f"（不超过 {f.limit} 字）"
        example = EXAMPLES.get(f.kind)
        if f.choices:
            description += "。可选：" + "、".join(f"{c.value}（{c.label}）" for c in f.choices) + \
                           "，代码或中文名称均可"
            example = next(iter(f.choices)).value
        if f.required:      # given, and not null
            kind, missing = _not_none(kind), ...
        elif f.kind == "choice":
            missing = f.default
        fields[f.name] = (kind, Field(missing, description=description, examples=[example]))
    name = "".join(part.title() for part in command.name.split("_"))
    return create_model(name, __base__=base, **fields)


def _not_none(kind: Any) -> Any:
    """`X | None` as X."""
    args = get_args(kind) if isinstance(kind, UnionType) else ()
    return next(k for k in args if k is not NoneType) if NoneType in args else kind


def _signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.config.session_secret, salt="evidence")


def _evidence(request: Request, user: User, refs: list[str]) -> list[dict]:
    """The files behind `ref`s this user received from POST /api/v1/evidence: nobody can name
    a file someone else uploaded, nor say what it is (its type and size, and a photo's EXIF
    time and place, were measured when it was stored, and the ref is signed)."""
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


def _fields(request: Request, user: User, command: Command, body: BaseModel) -> dict:
    """The command's keywords: files by their refs, and days within the years a page takes."""
    fields = body.model_dump()
    if "evidence" in fields:
        fields["evidence"] = _evidence(request, user, fields["evidence"])
    for f in command.fields:
        if f.kind == "date" and fields.get(f.name) is not None:
            fields[f.name] = parse_day(fields[f.name].isoformat(), f.label)
    return fields


@router.get("/tickets", operation_id="api_list", summary="问题清单",
            responses=problems(400, 403),
            description="您可查看的问题，筛选条件与「问题清单」页面相同；每页至多 200 条。")
def api_list(request: Request, app: App, db: ReadDb, config: Config, user: Reader,
             as_of: AsOfQuery = None,
             town: str | None = None, unit: str | None = None, state: str | None = None,
             light: str | None = None, indicator: str | None = None,
             severity: str | None = None, source: str | None = None,
             leader: str | None = None,
             q: Annotated[str | None, Query(description="问题内容、编号，或学校、镇街名称")] = None,
             mine: Annotated[str | None, Query(description="opened 我登记的、responsible 我负责的")]
             = None,
             sort: Annotated[str, Query(description="、".join([*SORTS, *REVERSED]))] = "light",
             desc: bool = False, page: Annotated[int, Query(ge=1)] = 1,
             per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> TicketPage:
    """Tickets one may see, with the same filters as 问题清单."""
    check_sort(sort)
    if light is not None and light not in {x.value for x in Light}:
        raise InvalidInputError(f"light 只能是 {'、'.join(x.value for x in Light)}")
    f = ticket_filter(app, user, {"town": town, "unit": unit, "state": state, "light": light,
                                  "indicator": indicator, "severity": severity,
                                  "source": source, "leader": leader}, q, mine)
    found = list_tickets(db, f, day_of(request, app.today()), config.warn_days, sort=sort,
                         descending=desc, page=page, per_page=per_page)
    return TicketPage(total=found.total, page=found.page, per_page=found.per_page,
                      items=found.rows, as_of=_as_of(request))


@router.get("/tickets/{number}", operation_id="api_get", summary="一个问题及其办理记录",
            responses=problems(400, 403, 404))
def api_get(request: Request, app: App, db: ReadDb, config: Config, user: Reader,
            number: Annotated[str, NUMBER], as_of: AsOfQuery = None) -> Ticket:
    """One ticket with its timeline."""
    ticket = user.visible_ticket(app, db, number, config.warn_days,
                                 day_of(request, app.today()))
    return Ticket(**ticket, timeline=timeline(db, ticket["id"]),
                  told=told_about(db, number, instant_asked(request)), as_of=_as_of(request))


def _as_of(request: Request) -> AsOf | None:
    moment = moment_of(request)
    return AsOf(at=moment.at, position=moment.position) if moment else None


OpenBody = body_model(OPEN)


@router.post("/tickets", status_code=201, operation_id="api_open", summary="登记问题",
             responses=problems(404), description="答复问题编号及其地址（Location）。")
def api_open(request: Request, response: Response, app: App, user: Opener,
             body: OpenBody) -> Opened:  # type: ignore[valid-type]
    """登记问题: answers its number and where to read it (GET that for the whole ticket: the
    read models catch up first, so it is there)."""
    number = getattr(app, OPEN.method)(user.login, **_fields(request, user, OPEN, body))
    url = f"/api/v1/tickets/{number}"
    response.headers["Location"] = url
    return Opened(number=number, version=1, url=url)


def _command_route(command: Command) -> None:
    """POST /tickets/{number}/{command}: the command on a ticket the user may see; answers the
    ticket as the command left it. Files are named by the `ref`s their upload returned."""
    Given = body_model(command, Versioned)
    Giver = Annotated[User, Depends(api_allow(*command.roles))]

    def give(request: Request, app: App, db: ReadDb, config: Config, user: Giver,
             number: Annotated[str, NUMBER], body: Given) -> Ticket:  # type: ignore[valid-type]
        user.visible_ticket(app, db, number, config.warn_days)
        getattr(app, command.method)(number, user.login, **_fields(request, user, command, body))
        request.app.state.reads.catch_up()
        ticket = user.visible_ticket(app, db, number, config.warn_days)
        return Ticket(**ticket, timeline=timeline(db, ticket["id"]))

    router.add_api_route(f"/tickets/{{number}}/{command.name}", give, methods=["POST"],
                         name=f"api_{command.name}", summary=command.label,
                         responses=problems(404), operation_id=f"api_{command.name}",
                         description=f"{command.label}（{'、'.join(f.label for f in command.fields)}）")


for _command in COMMANDS.values():
    _command_route(_command)


@router.post("/evidence", status_code=201, operation_id="api_upload", summary="上传证据文件",
             responses=problems(429),
             description="jpg/png/webp/heic/pdf（按内容识别）；答复的 ref 在 24 小时内由本账号的"
                         "命令（evidence 字段）引用。每个账号每天上传的总量有上限，超出时答复 429。")
def api_upload(request: Request, app: App, config: Config, user: Uploader,
               file: Annotated[UploadFile, File()]) -> EvidenceRef:
    """Upload one file (jpg/png/webp/heic/pdf, checked by content); name it in a later call."""
    uploads = Uploads(config, user.login, app.today())
    stored = uploads.store(file.file.read(uploads.limit_bytes + 1), file.filename or "").as_dict()
    return EvidenceRef(ref=_signer(request).dumps(stored | {"login": user.login}), **stored)
