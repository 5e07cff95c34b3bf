"""Every command a ticket takes, in one catalogue: who may give it, in which states, what it is
called, the fields it asks for (their labels and limits, which the ticket's own checks use too)
and what is said once it is done. The ticket, the pages, their forms and the JSON API all read
it; the README's "who may do what" table is checked against it.

Field kinds: `line` (one line of text), `text` (a paragraph), `date`, `unit` / `units` (units of
the directory), `person`, `leaders`, `verdict` (通过 / 不通过), `files` (evidence), `choice`
(one of a vocabulary: category, severity, source), `indicator` and `instruction` (one of the
ticket's 批示, by its number).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.lights import IN_RECTIFICATION
from domain.values import Category, Labelled, Role, Severity, Source, State, clean_text

REOPEN_DAYS = 14    # a reopened ticket's deadline when none is given
# A re-inspection's two verdicts as forms, lists and notices say them (a pass leaves the
# ticket 复查通过, the state of that name).
VERDICTS = {"pass": State.VERIFIED.label, "fail": "退回整改"}


@dataclass(frozen=True)
class Field:
    name: str                       # the keyword the application's method takes
    label: str
    kind: str = "text"
    required: bool = False
    limit: int = 2000               # characters, for text
    hint: str = ""                  # shown after the label
    prefill: tuple[str, ...] = ()   # the ticket's fields a form starts from, the first one set
    choices: type[Labelled] | None = None   # a choice's vocabulary
    default: str | None = None      # for a choice left out
    when_refused: bool = False      # a form shows it only once a refusal has asked for it


@dataclass(frozen=True)
class Command:
    name: str
    label: str
    roles: frozenset[Role]
    states: frozenset[State]
    method: str                     # the application's method that gives it
    fields: tuple[Field, ...]
    done: str

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def uploads(self) -> bool:
        return any(f.kind == "files" for f in self.fields)


def _command(name: str, label: str, roles: set[Role], states: set[State] | frozenset[State],
             fields: tuple[Field, ...], done: str, method: str = "") -> Command:
    return Command(name, label, frozenset(roles), frozenset(states), method or name, fields,
                   done)


OFFICE, INSPECTOR, UNIT, LEADER = Role.OFFICE, Role.INSPECTOR, Role.UNIT, Role.LEADER


def _responsibility(deadline_hint: str) -> tuple[Field, ...]:
    return (
        Field("lead_unit_id", "牵头单位", "unit", required=True,
              prefill=("lead_unit_id", "unit_id")),
        Field("co_unit_ids", "配合责任单位", "units", hint="（可多选）", prefill=("co_unit_ids",)),
        Field("person_id", "责任人", "person", hint="（可暂不指定）", prefill=("person_id",)),
        Field("leader_ids", "包保领导", "leaders", hint="（全不选则保持原包保领导）",
              prefill=("leader_ids",)),
        Field("deadline", "完成时限", "date", hint=deadline_hint, prefill=("deadline",)),
    )


# The office may set a deadline already past only by saying why (the ticket is red at once).
PAST_REASON = Field("past_reason", "时限已过的原因", "line", limit=200, when_refused=True,
                    hint="（仅当完成时限早于今天、确需如此时填写，记入记录）")

OPEN = _command("open", "登记问题", {INSPECTOR, OFFICE}, frozenset(), (
    Field("unit_id", "问题所在学校/单位", "unit", required=True),
    Field("title", "问题标题", "line", required=True, limit=200),
    Field("description", "问题描述", limit=5000),
    Field("category", "类别", "choice", required=True, choices=Category),
    Field("indicator_id", "对应指标", "indicator"),
    Field("severity", "严重程度", "choice", choices=Severity, default=Severity.NORMAL.value),
    Field("source", "来源", "choice", choices=Source, default=Source.WEEKLY_CHECK.value),
    Field("deadline", "完成时限", "date", hint="（可由创建办交办时确定）"),
    Field("leader_ids", "包保领导", "leaders", hint="（不选则按包保关系确定）"),
    Field("evidence", "现场照片", "files", hint="（可直接拍照）"),
), "已登记问题", method="open_ticket")

COMMANDS: dict[str, Command] = {c.name: c for c in (
    _command("assign", "交办", {OFFICE}, {State.OPENED}, (
        *_responsibility("（登记时已定的可不填）"), Field("note", "交办意见"), PAST_REASON),
        "已交办"),
    _command("acknowledge", "签收", {UNIT}, {State.ASSIGNED}, (
        Field("note", "签收意见", hint="（可不填）", limit=500),), "已签收"),
    _command("reassign", "改派", {OFFICE}, {State.ASSIGNED}, (
        *_responsibility("（不填则不变）"), Field("reason", "改派理由", required=True),
        PAST_REASON), "已改派"),
    _command("chase", "催办", {OFFICE}, {State.ASSIGNED}, (
        Field("note", "催办意见", hint="（可不填）", limit=500),), "已催办"),
    _command("rectify", "提交整改", {UNIT}, {State.ASSIGNED}, (
        Field("measures", "整改措施", required=True, limit=5000),
        Field("completed_on", "整改完成日期", "date", hint="（不填为今天）"),
        Field("evidence", "整改后照片或文件", "files")), "已提交整改"),
    _command("request_extension", "申请延期", {UNIT}, {State.ASSIGNED}, (
        Field("new_deadline", "新的完成时限", "date", required=True, hint="（申请延至）"),
        Field("reason", "延期理由", required=True)), "已申请延期"),
    _command("extend_deadline", "延期", {OFFICE}, {State.ASSIGNED}, (
        Field("new_deadline", "新的完成时限", "date", hint="（不填则按申请的日期）",
              prefill=("pending_deadline",)),
        Field("reason", "延期意见", required=True), PAST_REASON), "已延期"),
    _command("refuse_extension", "驳回延期", {OFFICE}, {State.ASSIGNED}, (
        Field("reason", "驳回理由", required=True),), "已驳回延期申请"),
    _command("reinspect", "复查", {INSPECTOR}, {State.RECTIFIED}, (
        Field("passed", "复查结论", "verdict", required=True),
        Field("findings", "复查意见", limit=5000, hint="（不通过时必填）"),
        Field("evidence", "复查照片", "files")), "已记录复查结论"),
    _command("close", "销号", {OFFICE}, {State.VERIFIED}, (
        Field("note", "销号意见"),), "已销号", method="close_ticket"),
    _command("hold", "回查巩固", {INSPECTOR, OFFICE}, {State.CLOSED}, (
        Field("note", "回查情况", required=True),
        Field("evidence", "回查照片", "files")), "已记录回查：整改成果巩固"),
    _command("reopen", "重新整改", {INSPECTOR, OFFICE}, {State.CLOSED}, (
        Field("findings", "回查发现", required=True, limit=5000),
        Field("deadline", "新的完成时限", "date", hint=f"（不填为 {REOPEN_DAYS} 天后）")),
        "已退回重新整改"),
    _command("check_progress", "检查进度", {INSPECTOR, OFFICE}, IN_RECTIFICATION, (
        Field("note", "检查情况", required=True),
        Field("evidence", "现场照片", "files")), "已记录检查"),
    _command("add_evidence", "补充整改前照片", {UNIT, INSPECTOR, OFFICE},
             {State.OPENED, State.ASSIGNED}, (
        Field("evidence", "整改前照片或文件", "files", required=True),
        Field("note", "说明", hint="（可不填）", limit=500)), "已补充整改前照片"),
    _command("give_instruction", "批示", {LEADER}, set(State) - {State.CANCELLED}, (
        Field("text", "批示内容", required=True),), "已批示"),
    _command("reply_instruction", "回复批示", {UNIT, OFFICE}, set(State) - {State.CANCELLED}, (
        Field("instruction", "回复哪条批示", "instruction", required=True,
              prefill=("instructions",)),
        Field("text", "落实情况", required=True)), "已回复批示落实情况"),
    _command("comment", "留言", {INSPECTOR, OFFICE, UNIT, LEADER}, set(State), (
        Field("text", "留言", required=True),), "已留言"),
    _command("cancel", "撤销", {OFFICE}, {State.OPENED, State.ASSIGNED}, (
        Field("reason", "撤销理由", required=True),), "已撤销"),
)}


def command(name: str) -> Command:
    """A ticket command, or `open`."""
    return OPEN if name == "open" else COMMANDS[name]


def clean(command_name: str, field: str, value: str, *, required: bool | None = None) -> str:
    """A text field cleaned under its catalogue label and limit (and its `required`, unless
    the command decides otherwise, as a failed re-inspection does for its findings)."""
    spec = command(command_name).field(field)
    return clean_text(value, spec.label, limit=spec.limit,
                      required=spec.required if required is None else required)
