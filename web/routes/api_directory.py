"""JSON API: the directory — units, people and the 包保 map as of a day, read by everyone; and
written by the office (units, where a school is, people, heads, 包保), so that a bureau can keep
it in step with its personnel system. Everything is dated, as on 组织机构, so history stays.

Phones and e-mails are given only to the roles that may read 组织机构 itself."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from domain.periods import parse_day
from domain.values import Role
from projections.directory_views import baobao_map, people, person_row, unit_row, unit_tree
from web.api_models import Baobao, Person, Unit
from web.deps import App, ReadDb, api_allow
from web.openapi import ALWAYS, problems
from web.routes.directory import READERS as CONTACTS_READERS
from web.users import User

router = APIRouter(prefix="/api/v1/directory", tags=["directory"], responses=problems(*ALWAYS))
Reader = Annotated[User, Depends(api_allow(*Role))]
Office = Annotated[User, Depends(api_allow(Role.OFFICE))]
# Who may read 组织机构 (web/routes/directory.py) may read phones and e-mails; no one else.
CONTACTS = ("email", "phone")
WRITTEN = problems(400, 404, 409)    # refused input, an unknown unit or person, a duplicate
CODE = Path(description="单位编码", examples=["T03-P01"])
PERSON_ID = Path(description="人员编号", examples=["H-T03-P01"])


@router.get("/units", operation_id="api_units", summary="单位树")
def api_units(db: ReadDb, user: Reader) -> list[Unit]:
    """The unit tree: the county, its bodies, towns and schools."""
    return unit_tree(db)


@router.get("/people", operation_id="api_people", summary="人员",
            description="可按单位筛选；电话与邮箱仅创建办与审计可见。")
def api_people(db: ReadDb, user: Reader,
               unit: Annotated[str | None, Query(examples=["T03-P01"])] = None) -> list[Person]:
    """People, optionally of one unit; their phones and e-mails only for 组织机构's readers."""
    found = people(db, unit)
    return found if user.has(*CONTACTS_READERS) else [_without_contacts(p) for p in found]


def _without_contacts(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in CONTACTS}


@router.get("/baobao", operation_id="api_baobao", summary="包保关系",
            description="某日（默认今天）每位领导包保的镇街和学校。")
def api_baobao(app: App, db: ReadDb, user: Reader, on: date | None = None) -> list[Baobao]:
    """Each leader with the towns and schools they answer for on a day (default today)."""
    return baobao_map(db, on or app.today())


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUnit(Body):
    code: str = Field(description="单位编码", examples=["T03-P04"])
    name: str = Field(description="单位名称", examples=["泉林镇东岭小学"])
    kind: str = Field(description="department 县直部门、town 镇街、school 学校",
                      examples=["school"])
    parent: str = Field(description="上级单位编码", examples=["T03"])
    level: str | None = Field(None, description="学校必填：primary 小学、junior 初中",
                              examples=["primary"])


class Location(Body):
    latitude: float = Field(description="纬度（WGS-84 十进制度数）", examples=[35.6521])
    longitude: float = Field(description="经度（WGS-84 十进制度数）", examples=[117.2734])


class NewPerson(Body):
    person_id: str = Field(description="人员编号", examples=["H-T03-P04"])
    name: str = Field(examples=["王校长"])
    title: str = Field("", examples=["校长"])
    unit_id: str = Field(description="所属单位编码", examples=["T03-P01"])
    email: str = Field("", examples=["wang@example.com"])
    phone: str = Field("", examples=["0537-4000000"])


class PersonChanges(Body):
    """Only the fields given change."""

    name: str | None = Field(None, examples=["王校长"])
    title: str | None = Field(None, examples=["校长"])
    unit_id: str | None = Field(None, examples=["T03-P01"])
    email: str | None = Field(None, examples=["wang@example.com"])
    phone: str | None = Field(None, examples=["0537-4000000"])
    notify: str | None = Field(None, description="immediate 即时通知、daily 每日汇总",
                               examples=["daily"])


class Dated(Body):
    unit_id: str = Field(description="单位编码", examples=["T03"])
    on: date = Field(description="生效日期", examples=["2019-09-01"])

    def dated(self) -> dict:
        """The keywords, the day within the years a page takes (domain/periods.py)."""
        return self.model_dump() | {"on": parse_day(self.on.isoformat(), "生效日期")}


class Appointment(Dated):
    person_id: str = Field(description="人员编号", examples=["H-T03"])


class BaobaoChange(Dated):
    leader_id: str = Field(description="领导的人员编号", examples=["L1"])


class Responsible(BaseModel):
    """Who answers for a unit on a day, after the change."""

    unit_id: str
    day: str
    head: str | None = Field(description="负责人的人员编号")
    leaders: list[str] = Field(description="包保领导的人员编号")


def _caught_up(request: Request) -> None:
    request.app.state.reads.catch_up()


@router.post("/units", status_code=201, operation_id="api_add_unit", summary="添加单位",
             responses=WRITTEN)
def api_add_unit(request: Request, app: App, db: ReadDb, user: Office, body: NewUnit) -> Unit:
    """Add a department, town or school under its parent."""
    app.add_unit(user.login, **body.model_dump())
    _caught_up(request)
    return unit_row(db, body.code)


@router.post("/units/{code}/location", operation_id="api_locate_unit",
             summary="录入学校位置（经纬度）", responses=WRITTEN)
def api_locate_unit(request: Request, app: App, db: ReadDb, user: Office,
                    code: Annotated[str, CODE], body: Location) -> Unit:
    """Where a school is, so that rectification photos can be checked against it."""
    app.locate_unit(user.login, code=code, **body.model_dump())
    _caught_up(request)
    return unit_row(db, code)


@router.post("/people", status_code=201, operation_id="api_register_person", summary="登记人员",
             responses=WRITTEN)
def api_register_person(request: Request, app: App, db: ReadDb, user: Office,
                        body: NewPerson) -> Person:
    """Register a person with their unit."""
    app.register_person(user.login, **body.model_dump())
    _caught_up(request)
    return person_row(db, body.person_id)


@router.patch("/people/{person_id}", operation_id="api_update_person", summary="修改人员信息",
              description="只修改给出的字段（姓名、职务、所属单位、邮箱、电话、通知方式）。",
              responses=problems(400, 404, 413))
def api_update_person(request: Request, app: App, db: ReadDb, user: Office,
                      person_id: Annotated[str, PERSON_ID], body: PersonChanges) -> Person:
    """Change what is given of a person, and nothing else."""
    app.update_person(user.login, person_id, **body.model_dump(exclude_none=True))
    _caught_up(request)
    return person_row(db, person_id)


@router.post("/heads", operation_id="api_appoint_head", summary="任命负责人",
             description="自生效日期起任负责人；前任的任期在当日结束。答复当日该单位的负责人与包保领导。",
             responses=WRITTEN)
def api_appoint_head(request: Request, app: App, user: Office, body: Appointment) -> Responsible:
    """Make a person a unit's head from a day; the previous head's term ends then."""
    app.appoint_head(user.login, **body.dated())
    return app.responsible_on(body.unit_id, body.on)


@router.post("/baobao", operation_id="api_assign_baobao", summary="安排包保",
             description="领导自生效日期起包保一个镇街或学校。答复当日该单位的负责人与包保领导。",
             responses=WRITTEN)
def api_assign_baobao(app: App, user: Office, body: BaobaoChange) -> Responsible:
    """A leader starts answering for a town or school from a day."""
    app.assign_baobao(user.login, **body.dated())
    return app.responsible_on(body.unit_id, body.on)


@router.post("/baobao/end", operation_id="api_end_baobao", summary="结束包保",
             description="进行中的包保自该日起结束。答复当日该单位的负责人与包保领导。",
             responses=WRITTEN)
def api_end_baobao(app: App, user: Office, body: BaobaoChange) -> Responsible:
    """A leader's 包保 of a unit ends on a day."""
    app.end_baobao(user.login, **body.dated())
    return app.responsible_on(body.unit_id, body.on)
