"""The rectification ticket (问题销号单): its life as events, and the rules of each move.

Public methods check state, role and scope, then call one decorated method that records the
event and only changes state. Rules live in the public methods so that replaying old events
never re-applies rules that may have changed since.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.clock import beijing_date
from domain.commands import COMMANDS, clean
from domain.copying import CopiesContainersOnly
from domain.errors import (
    IllegalTransitionError,
    InvalidInputError,
    NotPermittedError,
    OutOfScopeError,
)
from domain.evidence_checks import photo_flags
from domain.lights import days_overdue
from domain.values import Role, State, require_day
from domain.visibility import responsible_units

TICKET_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/ticket")

EVENT_LABELS = {
    "Opened": "登记问题", "Assigned": "交办", "Reassigned": "改派",
    "ExtensionRequested": "申请延期", "DeadlineExtended": "同意延期", "ExtensionRefused": "驳回延期",
    "Rectified": "提交整改", "ReInspected": "复查", "Closed": "销号", "Reopened": "重新整改",
    "Cancelled": "撤销", "Commented": "留言", "InstructionGiven": "领导批示",
    "ProgressChecked": "检查进度", "Acknowledged": "签收", "Chased": "催办",
    "RecheckHeld": "回查巩固", "EvidenceAdded": "补充照片", "InstructionReplied": "批示落实情况",
}


@lru_cache(maxsize=65536)
def ticket_id(number: str) -> UUID:
    """The aggregate id of a ticket number: the number is the natural key."""
    return uuid5(TICKET_NAMESPACE, number)


class Ticket(CopiesContainersOnly, Aggregate):
    """One deficiency, from finding to 销号."""

    @staticmethod
    def create_id(number: str) -> UUID:
        return ticket_id(number)

    @event("Opened")
    def __init__(
        self, number: str, title: str, description: str, town_id: str, unit_id: str,
        category: str, indicator_id: str | None, severity: str, source: str,
        deadline: date | None, leader_ids: list[str], evidence: list[dict], by: dict,
        timestamp: datetime,
    ) -> None:
        self.number = number
        self.title = title
        self.description = description
        self.town_id = town_id
        self.unit_id = unit_id
        self.category = category
        self.indicator_id = indicator_id
        self.severity = severity
        self.source = source
        self.deadline = deadline
        self.leader_ids = list(leader_ids)
        self.evidence_before = list(evidence)
        self.evidence_after: list[dict] = []
        self.opened_by = by
        self.opened_on = beijing_date(timestamp)
        self.state = State.OPENED
        self.lead_unit_id: str | None = None
        self.co_unit_ids: list[str] = []
        self.person_id: str | None = None
        self.pending_extension: dict | None = None
        self.measures = ""
        self.rectifications = 0
        self.returns = 0
        self.reopens = 0
        self.extensions = 0
        self.overdue_incurred = 0       # days overdue before the extensions granted so far
        self.acknowledged: dict[str, str] = {}   # unit -> when it 签收 the current assignment
        self.instructions: list[dict] = []       # 领导批示, each with its units' replies
        self.photo_flags: list[dict] = []        # the current rectification's doubtful photos
        self.held_on: date | None = None         # the monthly recheck found the fix held

    # -- checks shared by every command ------------------------------------------------------

    def check(self, command: str, actor: Actor) -> None:
        """Refuse the command unless the actor's role, sight and the ticket's state allow it."""
        spec = COMMANDS[command]
        if actor.role not in spec.roles:
            raise NotPermittedError(f"{actor.role.label}无权{spec.label}（{self.number}）")
        self.check_scope(actor)
        if self.state not in spec.states:
            raise IllegalTransitionError(
                f"问题 {self.number} 当前为「{State(self.state).label}」，不能{spec.label}"
            )
        self._check_ready(command, actor)

    def _check_ready(self, command: str, actor: Actor) -> None:
        """What a command needs of the ticket beyond its state (so a page offers it only then)."""
        refusal = {
            "request_extension": self.pending_extension is not None and "已有待审批的延期申请",
            "refuse_extension": self.pending_extension is None and "没有待审批的延期申请",
            "acknowledge": actor.unit_id in self.acknowledged and "本单位已签收",
            "hold": self.held_on is not None and f"已于 {self.held_on} 记录回查巩固",
            "reply_instruction": not self.instructions and "还没有领导批示",
            "cancel": self.rectifications > 0 and "已提交过整改，不能撤销",
        }.get(command)
        if refusal:
            raise IllegalTransitionError(f"问题 {self.number} {refusal}")

    def check_scope(self, actor: Actor) -> None:
        """A unit or a leader acts only on a ticket it answers for (domain/visibility.py)."""
        if actor.sight.acts_on(self.__dict__):
            return
        if actor.role is Role.UNIT:
            raise OutOfScopeError(f"问题 {self.number} 不属于本单位，无权操作")
        raise OutOfScopeError(f"问题 {self.number} 不在您的包保范围内")

    def check_deadline(self, deadline: date) -> None:
        if require_day(deadline, "完成时限") < self.opened_on:
            raise InvalidInputError(
                f"完成时限 {deadline} 早于发现日期 {self.opened_on}"
            )

    @staticmethod
    def past_deadline_reason(command: str, deadline: date, at: datetime, reason: str) -> str:
        """A deadline already past makes the ticket red the moment it is set: refused, with the
        earliest day it could be, unless the office says on the record why it must be so."""
        reason = clean(command, "past_reason", reason)
        today = beijing_date(at)
        if deadline < today and not reason:
            raise InvalidInputError(
                f"完成时限 {deadline} 已过，最早应为今天（{today}）；如确需按已过的时限记录"
                f"（如补录），请在“时限已过的原因”中写明")
        return reason if deadline < today else ""

    # -- commands ----------------------------------------------------------------------------

    def assign(
        self, actor: Actor, *, lead_unit_id: str, co_unit_ids: list[str], person_id: str | None,
        leader_ids: list[str], deadline: date | None, note: str, at: datetime,
        past_reason: str = "",
    ) -> None:
        self.check("assign", actor)
        deadline = deadline or self.deadline
        if deadline is None:
            raise InvalidInputError("交办时必须确定完成时限")
        self.check_deadline(deadline)
        self._assigned(
            lead_unit_id, _co_units(lead_unit_id, co_unit_ids), person_id,
            leader_ids or self.leader_ids, deadline,
            clean("assign", "note", note), actor.stamp(), at,
            past_reason=self.past_deadline_reason("assign", deadline, at, past_reason),
        )

    @event("Assigned")
    def _assigned(
        self, lead_unit_id: str, co_unit_ids: list[str], person_id: str | None,
        leader_ids: list[str], deadline: date, note: str, by: dict, timestamp: datetime,
        past_reason: str = "",
    ) -> None:
        self.acknowledged = {}
        self._take_responsibility(lead_unit_id, co_unit_ids, person_id, leader_ids, deadline)
        self.state = State.ASSIGNED

    def reassign(
        self, actor: Actor, *, lead_unit_id: str, co_unit_ids: list[str], person_id: str | None,
        leader_ids: list[str], deadline: date | None, reason: str, at: datetime,
        past_reason: str = "",
    ) -> None:
        """Without a new deadline the ticket keeps its own, past or not; a new one given must
        not be past (unless said why)."""
        self.check("reassign", actor)
        if deadline is not None:
            self.check_deadline(deadline)
            past_reason = self.past_deadline_reason("reassign", deadline, at, past_reason)
        self._reassigned(
            lead_unit_id, _co_units(lead_unit_id, co_unit_ids), person_id,
            leader_ids or self.leader_ids, deadline or self.deadline,
            clean("reassign", "reason", reason), actor.stamp(), at,
            past_reason=past_reason if deadline is not None else "",
        )

    @event("Reassigned")
    def _reassigned(
        self, lead_unit_id: str, co_unit_ids: list[str], person_id: str | None,
        leader_ids: list[str], deadline: date, reason: str, by: dict, timestamp: datetime,
        past_reason: str = "",
    ) -> None:
        self._take_responsibility(lead_unit_id, co_unit_ids, person_id, leader_ids, deadline)

    def _take_responsibility(
        self, lead_unit_id: str, co_unit_ids: list[str], person_id: str | None,
        leader_ids: list[str], deadline: date,
    ) -> None:
        still = {lead_unit_id, *co_unit_ids}
        self.acknowledged = {u: at for u, at in self.acknowledged.items() if u in still}
        self.lead_unit_id = lead_unit_id
        self.co_unit_ids = list(co_unit_ids)
        self.person_id = person_id
        self.leader_ids = list(leader_ids)
        self.deadline = deadline

    def request_extension(
        self, actor: Actor, *, new_deadline: date, reason: str, at: datetime
    ) -> None:
        self.check("request_extension", actor)
        self._check_later(new_deadline)
        if new_deadline < beijing_date(at):
            raise InvalidInputError(
                f"申请延至的日期 {new_deadline} 已过，最早应为今天（{beijing_date(at)}）")
        self._extension_requested(
            new_deadline, clean("request_extension", "reason", reason), actor.stamp(), at
        )

    @event("ExtensionRequested")
    def _extension_requested(
        self, new_deadline: date, reason: str, by: dict, timestamp: datetime
    ) -> None:
        self.pending_extension = {"new_deadline": new_deadline.isoformat(), "reason": reason}

    def extend_deadline(
        self, actor: Actor, *, new_deadline: date | None, reason: str, at: datetime,
        past_reason: str = "",
    ) -> None:
        """Grant the pending request (its date unless another is given), or extend unasked."""
        self.check("extend_deadline", actor)
        if new_deadline is None:
            if self.pending_extension is None:
                raise InvalidInputError("没有待审批的延期申请，请给出新的完成时限")
            new_deadline = date.fromisoformat(self.pending_extension["new_deadline"])
        self._check_later(new_deadline)
        self._deadline_extended(
            new_deadline, clean("extend_deadline", "reason", reason), actor.stamp(), at,
            overdue_days=self.days_overdue(beijing_date(at)),
            past_reason=self.past_deadline_reason("extend_deadline", new_deadline, at,
                                                  past_reason),
        )

    @event("DeadlineExtended")
    def _deadline_extended(
        self, new_deadline: date, reason: str, by: dict, timestamp: datetime,
        overdue_days: int = 0, past_reason: str = "",
    ) -> None:
        """`overdue_days`: how long the ticket was already overdue when the extension was
        granted, which the extension does not erase."""
        self.deadline = new_deadline
        self.pending_extension = None
        self.extensions += 1
        self.overdue_incurred += overdue_days

    def refuse_extension(self, actor: Actor, *, reason: str, at: datetime) -> None:
        self.check("refuse_extension", actor)
        self._extension_refused(clean("refuse_extension", "reason", reason), actor.stamp(), at)

    @event("ExtensionRefused")
    def _extension_refused(self, reason: str, by: dict, timestamp: datetime) -> None:
        self.pending_extension = None

    def _check_later(self, new_deadline: date) -> None:
        require_day(new_deadline, "新的完成时限")
        if self.deadline is not None and new_deadline <= self.deadline:
            raise InvalidInputError(f"新的完成时限 {new_deadline} 必须晚于原时限 {self.deadline}")

    def rectify(
        self, actor: Actor, *, measures: str, completed_on: date, evidence: list[dict],
        units: Mapping[str, Mapping], max_distance_m: int, at: datetime,
    ) -> None:
        """`units`: the directory's, for where the problem's school is when it has been
        located; photos taken before the finding or farther than `max_distance_m` from it are
        flagged, not refused."""
        self.check("rectify", actor)
        if require_day(completed_on, "整改完成日期") > beijing_date(at):
            raise InvalidInputError(f"整改完成日期 {completed_on} 不能晚于今天")
        if completed_on < self.opened_on:
            raise InvalidInputError(f"整改完成日期 {completed_on} 早于发现日期 {self.opened_on}")
        place = units.get(self.unit_id, {}).get("location")
        flags = photo_flags(evidence, self.opened_on, tuple(place) if place else None,
                            max_distance_m)
        self._rectified(
            clean("rectify", "measures", measures), completed_on, evidence, actor.stamp(), at,
            flags=flags,
        )

    def met_by_figures(self, by: dict, *, measures: str, at: datetime) -> bool:
        """A school year's figures now meet the indicator the ticket was opened for: recorded as
        a rectification by the system (the new figure and the import named in `measures`),
        which puts it in front of an inspector as 待复查. Never closed by itself. False when
        the ticket is past rectification already (or cancelled)."""
        if self.state not in (State.OPENED, State.ASSIGNED):
            return False
        self._rectified(measures, beijing_date(at), [], by, at)
        return True

    @event("Rectified")
    def _rectified(
        self, measures: str, completed_on: date, evidence: list[dict], by: dict,
        timestamp: datetime, flags: list[dict] | None = None,
    ) -> None:
        self.measures = measures
        self.evidence_after = list(evidence)
        self.photo_flags = list(flags or [])
        self.pending_extension = None
        self.rectifications += 1
        self.state = State.RECTIFIED

    def reinspect(
        self, actor: Actor, *, passed: bool, findings: str, evidence: list[dict], at: datetime
    ) -> None:
        self.check("reinspect", actor)
        if not isinstance(passed, bool):
            raise InvalidInputError("复查结论必须是「通过」或「不通过」")
        findings = clean("reinspect", "findings", findings, required=not passed)
        self._reinspected(passed, findings, evidence, actor.stamp(), at)

    @event("ReInspected")
    def _reinspected(
        self, passed: bool, findings: str, evidence: list[dict], by: dict, timestamp: datetime
    ) -> None:
        if passed:
            self.state = State.VERIFIED
        else:
            self.returns += 1
            self.state = State.ASSIGNED
            self._fix_no_longer_current()

    def _fix_no_longer_current(self) -> None:
        """A failed fix's photos stay in the record (its event) but are no longer current."""
        self.evidence_after = []
        self.photo_flags = []

    def close(self, actor: Actor, *, note: str, at: datetime) -> None:
        self.check("close", actor)
        self._closed(clean("close", "note", note), actor.stamp(), at)

    @event("Closed")
    def _closed(self, note: str, by: dict, timestamp: datetime) -> None:
        self.state = State.CLOSED
        self.closed_on = beijing_date(timestamp)
        self.held_on = None

    def reopen(self, actor: Actor, *, findings: str, deadline: date, at: datetime) -> None:
        self.check("reopen", actor)
        if require_day(deadline, "完成时限") < beijing_date(at):
            raise InvalidInputError(f"重新整改的完成时限 {deadline} 早于今天")
        self._reopened(clean("reopen", "findings", findings), deadline, actor.stamp(), at)

    @event("Reopened")
    def _reopened(self, findings: str, deadline: date, by: dict, timestamp: datetime) -> None:
        self.reopens += 1
        self.deadline = deadline
        self.state = State.ASSIGNED
        self.acknowledged = {}
        self._fix_no_longer_current()

    def cancel(self, actor: Actor, *, reason: str, at: datetime) -> None:
        self.check("cancel", actor)
        self._cancelled(clean("cancel", "reason", reason), actor.stamp(), at)

    @event("Cancelled")
    def _cancelled(self, reason: str, by: dict, timestamp: datetime) -> None:
        self.state = State.CANCELLED
        self.pending_extension = None

    def comment(self, actor: Actor, *, text: str, at: datetime) -> None:
        self.check("comment", actor)
        self._commented(clean("comment", "text", text), actor.stamp(), at)

    @event("Commented")
    def _commented(self, text: str, by: dict, timestamp: datetime) -> None:
        pass

    def give_instruction(self, actor: Actor, *, text: str, at: datetime) -> None:
        self.check("give_instruction", actor)
        self._instruction_given(clean("give_instruction", "text", text), actor.stamp(), at)

    @event("InstructionGiven")
    def _instruction_given(self, text: str, by: dict, timestamp: datetime) -> None:
        self.instructions.append({"n": len(self.instructions) + 1, "text": text, "by": by,
                                  "at": timestamp, "replies": []})

    def reply_instruction(self, actor: Actor, *, instruction: int, text: str,
                          at: datetime) -> None:
        """落实情况: a responsible unit or the office says what was done about a 批示."""
        self.check("reply_instruction", actor)
        if (isinstance(instruction, bool) or not isinstance(instruction, int)
                or not 1 <= instruction <= len(self.instructions)):
            raise InvalidInputError(f"问题 {self.number} 没有第 {instruction} 条批示")
        self._instruction_replied(instruction, clean("reply_instruction", "text", text),
                                  actor.stamp(), at)

    @event("InstructionReplied")
    def _instruction_replied(self, instruction: int, text: str, by: dict,
                             timestamp: datetime) -> None:
        self.instructions[instruction - 1]["replies"].append(
            {"text": text, "by": by, "at": timestamp})

    # -- being told, and saying so ---------------------------------------------------------

    def acknowledge(self, actor: Actor, *, note: str, at: datetime) -> None:
        """签收: a responsible unit confirms it has received the assignment."""
        self.check("acknowledge", actor)
        self._acknowledged(actor.unit_id, clean("acknowledge", "note", note), actor.stamp(), at)

    @event("Acknowledged")
    def _acknowledged(self, unit_id: str, note: str, by: dict, timestamp: datetime) -> None:
        self.acknowledged[unit_id] = timestamp.isoformat()

    def unacknowledged(self) -> list[str]:
        """The responsible units that have not yet 签收 the current assignment."""
        return [u for u in responsible_units(self.__dict__) if u not in self.acknowledged]

    def chase(self, actor: Actor, *, note: str, at: datetime) -> None:
        """催办: the office presses the units that have not 签收 (or, when all have, every
        responsible unit) — a message, recorded like any other."""
        self.check("chase", actor)
        units = self.unacknowledged() or responsible_units(self.__dict__)
        self._chased(units, clean("chase", "note", note), actor.stamp(), at)

    @event("Chased")
    def _chased(self, unit_ids: list[str], note: str, by: dict, timestamp: datetime) -> None:
        pass

    # -- evidence and the monthly recheck --------------------------------------------------

    def add_evidence(self, actor: Actor, *, evidence: list[dict], note: str,
                     at: datetime) -> None:
        """补充整改前照片: more photos of the problem as found, from the unit or the office."""
        self.check("add_evidence", actor)
        if not evidence:
            raise InvalidInputError("请选择要补充的照片或文件")
        self._evidence_added("before", evidence, clean("add_evidence", "note", note),
                             actor.stamp(), at)

    @event("EvidenceAdded")
    def _evidence_added(self, round: str, evidence: list[dict], note: str, by: dict,
                        timestamp: datetime) -> None:
        self.evidence_before.extend(evidence)

    def hold(self, actor: Actor, *, note: str, evidence: list[dict], at: datetime) -> None:
        """回查巩固: the monthly recheck found the closed ticket's fix still holds."""
        self.check("hold", actor)
        self._held(clean("hold", "note", note), evidence, actor.stamp(), at)

    @event("RecheckHeld")
    def _held(self, note: str, evidence: list[dict], by: dict, timestamp: datetime) -> None:
        self.held_on = beijing_date(timestamp)

    def check_progress(
        self, actor: Actor, *, note: str, evidence: list[dict], at: datetime
    ) -> None:
        self.check("check_progress", actor)
        self._progress_checked(
            clean("check_progress", "note", note), evidence, actor.stamp(), at
        )

    @event("ProgressChecked")
    def _progress_checked(
        self, note: str, evidence: list[dict], by: dict, timestamp: datetime
    ) -> None:
        self.last_checked_on = beijing_date(timestamp)

    # -- derived -----------------------------------------------------------------------------

    def days_overdue(self, today: date) -> int:
        return days_overdue(self.state, self.deadline, today)


def _co_units(lead_unit_id: str, co_unit_ids: list[str]) -> list[str]:
    """Co-responsible units without the lead and without repeats, in the order given."""
    return [u for u in dict.fromkeys(co_unit_ids) if u != lead_unit_id]
