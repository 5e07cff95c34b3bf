"""The shapes the JSON API answers with, as the OpenAPI document shows them. Rows of the read
models carry more columns than are named here; those pass through as they are (`extra`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Row(BaseModel):
    model_config = ConfigDict(extra="allow")


class File(Row):
    sha256: str
    name: str
    content_type: str
    size: int
    taken_at: str | None = Field(None, description="照片自带的拍摄时间（EXIF），如有")
    gps: list[float] | None = Field(None, description="照片自带的拍摄地点 [纬度, 经度]，如有")


class TicketRow(Row):
    id: str
    number: str = Field(examples=["SS-2019-0031"])
    title: str
    description: str | None = None
    town_id: str | None = Field(None, description="所在镇街编码")
    unit_id: str | None = Field(None, description="问题所在学校/单位编码")
    category: str | None = None
    indicator_id: str | None = None
    severity: str | None = None
    source: str | None = None
    state: str = Field(description="opened 待交办、assigned 整改中、rectified 待复查、"
                                   "verified 复查通过、closed 已销号、cancelled 已撤销")
    lead_unit_id: str | None = None
    co_unit_ids: list[str] = Field(description="配合责任单位编码")
    person_id: str | None = None
    leader_ids: list[str] = Field(description="包保领导的人员编号")
    deadline: str | None = Field(None, description="完成时限（YYYY-MM-DD）")
    light: str = Field(description="今天的红黄绿灯：red、yellow、green，无灯为 none")
    days_overdue: int
    evidence_before: list[File]
    evidence_after: list[File]
    version: int = Field(description="当前版本；命令的 expected_version 用它")


class TicketItem(TicketRow):
    town_name: str | None = None
    unit_name: str | None = None
    lead_name: str | None = None


class AsOf(BaseModel):
    """历史视图: the instant asked for and the log position it stands for."""
    at: datetime = Field(description="所问的时间（北京时间）")
    position: int = Field(description="当时日志的最后一条记录（通知编号）；之后的记录不计")


class TicketPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[TicketItem]
    as_of: AsOf | None = Field(None, description="历史视图时，所示为该时刻的状态")


class Detail(BaseModel):
    label: str = Field(description="字段的中文名称，如 交办意见、配合责任单位")
    value: Any = Field(description="文字；单位或人员的编码列表（kind 为 units）；文件（files）")
    kind: str = Field(description="text、units、files、flags 或 verdict")


class Change(BaseModel):
    label: str = Field(description="改变的项目，如 完成时限、牵头单位、状态")
    before: Any
    after: Any
    kind: str = Field(description="text 或 units（编码列表）")


class Step(Row):
    version: int
    event: str = Field(description="事件名，如 Opened、Assigned")
    label: str = Field(description="中文名称，如 登记问题、交办")
    at: str = Field(description="北京时间（ISO 8601）")
    by_login: str | None = None
    by_name: str | None = None
    role: str | None = None
    unit_id: str | None = None
    summary: str | None = None
    details: list[Detail] = Field([], description="事件所记载的每一项")
    changes: list[Change] = Field([], description="此事件前后问题的变化")


class Told(BaseModel):
    """一次通报或一条消息点到了这个问题。"""
    part: str = Field(description="列在哪一部分，如 逾期未整改、下周到期、交办")
    run_id: str | None = Field(None, description="周通报：该期的编号")
    issue: int | None = Field(None, description="周通报：第几期")
    run_period: str | None = None
    issued_at: str | None = None
    delivery_id: str | None = Field(None, description="消息：发件箱中的编号")
    name: str | None = Field(None, description="消息：收件人")
    role: str | None = None
    recipient_key: str | None = None
    subject: str | None = None
    queued_at: str | None = None
    state: str | None = None
    delivered_at: str | None = None


class Ticket(TicketRow):
    timeline: list[Step]
    told: list[Told] = Field([], description="点到这个问题的每期周通报和每条消息")
    as_of: AsOf | None = Field(None, description="历史视图时，所示为该时刻的状态")


class Opened(BaseModel):
    number: str = Field(examples=["SS-2019-0042"])
    version: int
    url: str = Field(description="读取该问题的地址")


class CheckItem(Row):
    ticket_id: str
    number: str
    title: str
    town_id: str | None
    unit_id: str | None
    state: str = Field(description="周一零时的状态")
    state_now: str = Field(description="现在的状态")
    deadline: str | None
    light: str = Field(description="周一零时的灯")
    checked: bool = Field(description="本周是否已检查或复查")


class CheckList(BaseModel):
    week: str = Field(examples=["2019-W34"])
    total: int
    checked: int
    items: list[CheckItem]


class RecheckItem(Row):
    number: str
    title: str
    town_id: str | None
    unit_id: str | None
    closed_at: str
    state: str = Field(description="现在的状态")
    outcome: str = Field(description="held 巩固、reopened 重新整改、pending 未回查")
    result: str = Field(description="outcome 的中文名称")
    carried: bool = Field(description="往月未回查，结转本月")


class RecheckList(BaseModel):
    month: str = Field(examples=["2019-08"])
    held: int
    reopened: int
    pending: int
    items: list[RecheckItem]


class Figures(BaseModel):
    """一周的数字：全县合计与各镇街（含排名），定义见 README「How each figure is defined」。"""

    week: str = Field(examples=["2019-W34"])
    county: dict[str, Any]
    towns: list[dict[str, Any]]


class Issued(Row):
    id: str
    period: str = Field(description="周通报的周次", examples=["2019-W34"])
    number: int = Field(description="期数")
    issued_at: str = Field(description="数字固定、草稿生成的时刻")
    by_login: str | None = None
    draft: bool = Field(default=False, description="草稿，尚未签发（仅创建办与审计可见）")
    document_number: str | None = Field(default=None, description="文号，签发时编定",
                                        examples=["泗创办通〔2019〕8号"])
    signed_at: str | None = Field(default=None, description="签发时刻")
    signer_name: str | None = Field(default=None, description="签发人（系统按设置印发时为空）")


class Bulletin(Issued):
    content: dict[str, Any] = Field(description="周通报的内容：数字、排名，以及您可查看的问题清单")
    document: dict[str, Any] | None = Field(
        default=None, description="表扬（praise）、批评（criticism）各条与结束语（closing）")


class Delivery(Row):
    id: str
    kind: str
    period: str | None = None
    name: str | None = None
    role: str | None = None
    recipient_key: str | None = None
    subject: str | None = None
    queued_at: str | None = None
    delivered_at: str | None = None
    built_from: int | None = Field(None, description="生成时所依据的日志位置")
    state: str = Field(description="queued、sending、delivered、failed、held 待汇总、gathered 已汇总")
    attempts: int
    last_error: str | None = None


class Outbox(BaseModel):
    counts: dict[str, int]
    page: int
    per_page: int
    items: list[Delivery]


class Unit(Row):
    code: str = Field(examples=["T03-P01"])
    name: str
    kind: str = Field(description="county 县、department 县直部门、town 镇街、school 学校")
    parent: str | None = None
    level: str | None = Field(None, description="学校：primary 小学、junior 初中、nine_year 九年一贯制")
    latitude: float | None = None
    longitude: float | None = None
    children: list[Unit] = []


class Person(Row):
    id: str = Field(examples=["H-T03-P01"])
    name: str
    title: str | None = None
    unit_id: str
    unit_name: str | None = None
    notify: str | None = Field(None, description="immediate 即时通知、daily 每日汇总")
    email: str | None = Field(None, description="仅创建办与审计可见")
    phone: str | None = Field(None, description="仅创建办与审计可见")


class Covered(BaseModel):
    code: str
    name: str


class Baobao(BaseModel):
    leader_id: str = Field(examples=["L1"])
    leader_name: str
    units: list[Covered]


class Verdict(BaseModel):
    county: str = Field(description="全县结论：met 达标、unmet 未达标、unassessed 尚有项目未评估")
    groups: dict[str, str] = Field(description="各方面的结论：prerequisite 前提条件、resource 资源配置、"
                                               "government 政府保障程度、quality 教育质量、"
                                               "recognition 社会认可度、veto 否决情形")
    parts: dict[str, str] = Field(description="资源配置按学段：primary 小学、junior 初中")
    unassessed: int = Field(description="尚未评估的项目数")


class ShortfallRow(BaseModel):
    key: str = Field(description="学年内的唯一键：对象|学段|指标",
                     examples=["T01-P01|primary|gov_class_size"])
    subject: str = Field(description="学校名称，或“全县”")
    town: str
    part: str = Field(description="学段（小学、初中），全县项目为空")
    indicator: str
    gap: str = Field(description="差距（数字写明）")
    need: str = Field(description="达标需要")
    ticket: str | None = Field(None, description="对应的问题编号")


class CvRow(BaseModel):
    part: str
    indicator: str
    value: float
    limit: float
    ticket: str | None = None
    movers: list[dict[str, Any]] = Field(description="提高到标准后差异系数下降最多的学校")


class ChecklistRow(BaseModel):
    id: str
    group: str
    label: str
    mark: str = Field(description="met 达标、unmet 未达标、unassessed 未评估")
    value: float | None = None
    evidence: str = ""
    note: str = ""
    ticket: str | None = None


class JudgementRow(BaseModel):
    at: str
    cause: str
    county: str
    failing: int
    opened: int
    adopted: int
    met: int
    rules: dict[str, Any]


class Standard(BaseModel):
    year: int = Field(examples=[2018], description="学年开始的年份")
    label: str = Field(examples=["2018-2019学年"])
    verdict: Verdict
    cvs: list[CvRow]
    shortfalls: list[ShortfallRow]
    checklist: list[ChecklistRow]
    judgements: list[JudgementRow] = Field(description="每次评估当时的结论，先旧后新")
