"""The ticket half of the write API (mixed into XiaohaoApp)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain.actor import Actor
from domain.clock import beijing
from domain.commands import COMMANDS, REOPEN_DAYS, clean
from domain.directory import Directory
from domain.errors import DomainError, InvalidInputError, StaleVersionError, UnknownReferenceError
from domain.idempotency import PendingKey, RequestReplayed, pending_key
from domain.indicators import require_indicator
from domain.numbering import TicketCounter, counter_id
from domain.ticket import Ticket, ticket_id
from domain.values import (
    Category,
    Evidence,
    Severity,
    Source,
    State,
    distinct_ids,
    require_day,
    require_id,
)

OPEN_RETRIES = 50


# How many of each a command takes at once: more is a mistake or an abuse, not a county's need.
MAX_FILES, MAX_CO_UNITS, MAX_LEADERS = 20, 30, 10


def _evidence(items: Iterable[Evidence | dict]) -> list[dict]:
    """Files named once each (by content), at most MAX_FILES."""
    if items is None or isinstance(items, (str, bytes, dict)):
        raise InvalidInputError("证据必须是文件清单")
    files = list({e.sha256: e for e in map(Evidence.parse, items)}.values())
    if len(files) > MAX_FILES:
        raise InvalidInputError(f"每次最多 {MAX_FILES} 个文件，收到 {len(files)} 个")
    return [e.as_dict() for e in files]


def _check_people(directory: Directory, person_ids: Iterable[str]) -> None:
    for person_id in person_ids:
        directory.person(person_id)


class Numbers:
    """Numbers for a batch of findings from each year's counter, recorded on the counter as
    one event per batch (`recorded`), however many tickets it numbers."""

    def __init__(self, counter_of: Callable[[int], TicketCounter]) -> None:
        self._counter_of = counter_of
        self._counters: dict[int, TicketCounter] = {}
        self._taken: dict[int, list[str]] = {}

    def next(self, year: int) -> str:
        counter = self._counters.get(year) or self._counters.setdefault(
            year, self._counter_of(year))
        taken = self._taken.setdefault(year, [])
        taken.append(counter.next_number(ahead=len(taken)))
        return taken[-1]

    def recorded(self, at: datetime) -> list[TicketCounter]:
        """The counters with this batch recorded on them, to be saved with its tickets."""
        for year, taken in self._taken.items():
            counter = self._counters[year]
            if len(taken) == 1:
                counter.issue(taken[0], timestamp=at)
            else:
                counter.issue_many(first=taken[0], last=taken[-1], count=len(taken),
                                   timestamp=at)
        return list(self._counters.values())


@dataclass
class _Opening:
    """A finding waiting for its number (see TicketCommands.open_ticket)."""

    fields: dict
    year: int
    key: PendingKey | None = None     # an Idempotency-Key to store with the ticket
    number: str | None = None
    error: BaseException | None = None


class TicketCommands:
    """Open tickets and move them through their life; read one back as plain data."""

    def open_ticket(
        self, by: str, *, title: str, description: str, unit_id: str, category: str,
        severity: str, source: str, indicator_id: str | None = None,
        deadline: date | None = None, leader_ids: Iterable[str] | None = None,
        evidence: Iterable[Evidence | dict] = (),
    ) -> str:
        """Record a finding; its number is issued here. Returns the number."""
        actor = self.actor(by, "open")
        now, today = self.now(), self.today()
        directory = self.directory()
        directory.unit(require_id(unit_id, "问题所在单位"))
        if indicator_id is not None:
            require_indicator(require_id(indicator_id, "评估指标"))
        if deadline is not None and require_day(deadline, "完成时限") < today:
            raise InvalidInputError(f"完成时限 {deadline} 早于发现日期 {today}")
        leaders = (distinct_ids(leader_ids, "包保领导", MAX_LEADERS) if leader_ids
                   else directory.leaders_on(unit_id, today))
        _check_people(directory, leaders)
        fields = self._finding(
            actor, directory, title=title, description=description, unit_id=unit_id,
            category=category, indicator_id=indicator_id, severity=severity, source=source,
            deadline=deadline, leader_ids=leaders, evidence=_evidence(evidence), at=now)
        opening = _Opening(fields, beijing(now).year, pending_key())
        with self._waiting_lock:
            self._waiting.append(opening)
        # Whoever holds the numbering lock numbers and saves every finding waiting then, in
        # one commit: under load, many tickets share one write to disk.
        with self._numbering:
            if opening.number is None and opening.error is None:
                with self._waiting_lock:
                    batch, self._waiting = self._waiting, []
                self._number_and_save(batch)
        if opening.error is not None:
            raise opening.error
        return opening.number

    @staticmethod
    def _finding(actor: Actor, directory: Directory, *, title: str, description: str,
                 unit_id: str, category: str, indicator_id: str | None, severity: str,
                 source: str, deadline: date | None, leader_ids: list[str],
                 evidence: list[dict], at: datetime) -> dict:
        """A finding's fields as its ticket's Opened event takes them (texts cleaned under
        the form's limits, vocabularies parsed)."""
        return dict(
            title=clean("open", "title", title),
            description=clean("open", "description", description),
            town_id=directory.town_of(unit_id), unit_id=unit_id,
            category=Category.parse(category).value, indicator_id=indicator_id or None,
            severity=Severity.parse(severity).value, source=Source.parse(source).value,
            deadline=deadline, leader_ids=leader_ids, evidence=evidence,
            by=actor.stamp(), timestamp=at,
        )

    def _numbered(self, numbers: Numbers, year: int, fields: dict) -> Ticket:
        """A ticket for a finding with the next number of its year (the caller records and
        saves the counters with the tickets, holding _numbering)."""
        return Ticket(number=numbers.next(year), **fields)

    def _number_and_save(self, batch: list[_Opening]) -> None:
        """Give each waiting finding the next number of its year and save them all at once."""
        batch = self._one_per_key(batch)
        for attempt in range(OPEN_RETRIES):
            numbers = Numbers(self._counter)
            tickets = []
            keys = []
            try:
                for opening in batch:
                    ticket = self._numbered(numbers, opening.year, opening.fields)
                    opening.number = ticket.number
                    tickets.append(ticket)
                    if opening.key is not None:
                        opening.key.outcome = {"number": opening.number}
                        keys.append(opening.key.record(opening.fields["timestamp"]))
                self.save(*numbers.recorded(self.now()), *tickets, *keys)
                for opening in batch:
                    if opening.key is not None:
                        opening.key.saved = True
                return
            except IntegrityError:
                batch = self._without_replayed(batch)
                # Another process took these serials. Wait a random moment so that two
                # processes in lockstep stop colliding, then read the counter again.
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
            except Exception as error:   # nothing was saved; each caller hears why
                for opening in batch:
                    opening.number, opening.error = None, error
                return
        for opening in batch:
            opening.number = None
            opening.error = StaleVersionError("编号分配冲突过多，请稍后重试")

    @staticmethod
    def _one_per_key(batch: list[_Opening]) -> list[_Opening]:
        """Twin requests under one Idempotency-Key waiting together: the first goes on."""
        seen, waiting = set(), []
        for opening in batch:
            key = opening.key and (opening.key.login, opening.key.key)
            if key and key in seen:
                opening.error = RequestReplayed()
            else:
                seen.add(key)
                waiting.append(opening)
        return waiting

    def _without_replayed(self, batch: list[_Opening]) -> list[_Opening]:
        """The batch less the findings whose Idempotency-Key a twin request has stored
        meanwhile (each of those hears so); the rest are tried again."""
        waiting = []
        for opening in batch:
            key = opening.key
            if key is not None and self.keyed_request(key.login, key.key) is not None:
                opening.number = None
                opening.error = RequestReplayed()
            else:
                waiting.append(opening)
        return waiting

    def _counter(self, year: int) -> TicketCounter:
        try:
            return self._get(counter_id(self.county_code, year), "")
        except UnknownReferenceError:
            return TicketCounter(county_code=self.county_code, year=year, timestamp=self.now())

    def _act(self, number: str, by: str, command: str, expected_version: int | None,
             **kwargs: Any) -> int:
        """get -> command -> save for one ticket; returns its new version."""
        ticket = self._ticket(number)
        if expected_version is not None and ticket.version != expected_version:
            raise StaleVersionError(
                f"问题 {number} 已被他人修改（当前版本 {ticket.version}，"
                f"您看到的是 {expected_version}），请刷新后重试"
            )
        actor = self.actor(by, command)
        getattr(ticket, command)(actor, at=self.now(), **kwargs)
        if (key := pending_key()) is not None:
            key.outcome = {"number": number, "version": ticket.version}
        self._save(ticket)
        return ticket.version

    def allowed_commands(self, number: str, login: str) -> list[str]:
        """The commands the account may give on the ticket as it stands (what a page offers),
        by the same checks the commands themselves make."""
        ticket = self._ticket(number)
        allowed = []
        for command in COMMANDS:
            try:
                ticket.check(command, self.actor(login, command))
            except DomainError:
                continue
            allowed.append(command)
        return allowed

    def _ticket(self, number: str) -> Ticket:
        return self._get(ticket_id(require_id(number, "问题编号")), f"未知的问题编号：{number}")

    def _responsibility(self, lead_unit_id: str, co_unit_ids: Iterable[str],
                        person_id: str | None, leader_ids: Iterable[str]) -> dict:
        co_unit_ids = distinct_ids(co_unit_ids, "配合责任单位", MAX_CO_UNITS)
        leader_ids = distinct_ids(leader_ids, "包保领导", MAX_LEADERS)
        directory = self.directory()
        for unit_id in [require_id(lead_unit_id, "牵头单位"), *co_unit_ids]:
            directory.unit(unit_id)
        if person_id is not None:
            directory.person(require_id(person_id, "责任人"))
        _check_people(directory, leader_ids)
        return dict(lead_unit_id=lead_unit_id, co_unit_ids=list(co_unit_ids),
                    person_id=person_id, leader_ids=list(leader_ids))

    def assign(self, number: str, by: str, *, lead_unit_id: str,
               co_unit_ids: Iterable[str] = (), person_id: str | None = None,
               leader_ids: Iterable[str] = (), deadline: date | None = None, note: str = "",
               past_reason: str = "", expected_version: int | None = None) -> int:
        who = self._responsibility(lead_unit_id, co_unit_ids, person_id, leader_ids)
        return self._act(number, by, "assign", expected_version, deadline=deadline, note=note,
                         past_reason=past_reason, **who)

    def reassign(self, number: str, by: str, *, lead_unit_id: str, reason: str,
                 co_unit_ids: Iterable[str] = (), person_id: str | None = None,
                 leader_ids: Iterable[str] = (), deadline: date | None = None,
                 past_reason: str = "", expected_version: int | None = None) -> int:
        who = self._responsibility(lead_unit_id, co_unit_ids, person_id, leader_ids)
        return self._act(number, by, "reassign", expected_version, deadline=deadline,
                         reason=reason, past_reason=past_reason, **who)

    def request_extension(self, number: str, by: str, *, new_deadline: date, reason: str,
                          expected_version: int | None = None) -> int:
        return self._act(number, by, "request_extension", expected_version,
                         new_deadline=new_deadline, reason=reason)

    def extend_deadline(self, number: str, by: str, *, reason: str,
                        new_deadline: date | None = None, past_reason: str = "",
                        expected_version: int | None = None) -> int:
        return self._act(number, by, "extend_deadline", expected_version,
                         new_deadline=new_deadline, reason=reason, past_reason=past_reason)

    def refuse_extension(self, number: str, by: str, *, reason: str,
                         expected_version: int | None = None) -> int:
        return self._act(number, by, "refuse_extension", expected_version, reason=reason)

    def rectify(self, number: str, by: str, *, measures: str, completed_on: date | None = None,
                evidence: Iterable[Evidence | dict] = (),
                expected_version: int | None = None) -> int:
        return self._act(number, by, "rectify", expected_version, measures=measures,
                         completed_on=completed_on or self.today(), evidence=_evidence(evidence),
                         units=self.directory().units, max_distance_m=self.photo_distance_m)

    def reinspect(self, number: str, by: str, *, passed: bool, findings: str = "",
                  evidence: Iterable[Evidence | dict] = (),
                  expected_version: int | None = None) -> int:
        return self._act(number, by, "reinspect", expected_version, passed=passed,
                         findings=findings, evidence=_evidence(evidence))

    def close_ticket(self, number: str, by: str, *, note: str = "",
                     expected_version: int | None = None) -> int:
        return self._act(number, by, "close", expected_version, note=note)

    def reopen(self, number: str, by: str, *, findings: str, deadline: date | None = None,
               expected_version: int | None = None) -> int:
        """Put a closed ticket back to the unit; without a date it gets REOPEN_DAYS days."""
        deadline = deadline or self.today() + timedelta(days=REOPEN_DAYS)
        return self._act(number, by, "reopen", expected_version, findings=findings,
                         deadline=deadline)

    def acknowledge(self, number: str, by: str, *, note: str = "",
                    expected_version: int | None = None) -> int:
        return self._act(number, by, "acknowledge", expected_version, note=note)

    def chase(self, number: str, by: str, *, note: str = "",
              expected_version: int | None = None) -> int:
        return self._act(number, by, "chase", expected_version, note=note)

    def hold(self, number: str, by: str, *, note: str, evidence: Iterable[Evidence | dict] = (),
             expected_version: int | None = None) -> int:
        return self._act(number, by, "hold", expected_version, note=note,
                         evidence=_evidence(evidence))

    def add_evidence(self, number: str, by: str, *, evidence: Iterable[Evidence | dict],
                     note: str = "", expected_version: int | None = None) -> int:
        return self._act(number, by, "add_evidence", expected_version, note=note,
                         evidence=_evidence(evidence))

    def reply_instruction(self, number: str, by: str, *, instruction: int, text: str,
                          expected_version: int | None = None) -> int:
        return self._act(number, by, "reply_instruction", expected_version,
                         instruction=instruction, text=text)

    def cancel(self, number: str, by: str, *, reason: str,
               expected_version: int | None = None) -> int:
        return self._act(number, by, "cancel", expected_version, reason=reason)

    def comment(self, number: str, by: str, *, text: str,
                expected_version: int | None = None) -> int:
        return self._act(number, by, "comment", expected_version, text=text)

    def give_instruction(self, number: str, by: str, *, text: str,
                         expected_version: int | None = None) -> int:
        return self._act(number, by, "give_instruction", expected_version, text=text)

    def check_progress(self, number: str, by: str, *, note: str,
                       evidence: Iterable[Evidence | dict] = (),
                       expected_version: int | None = None) -> int:
        return self._act(number, by, "check_progress", expected_version, note=note,
                         evidence=_evidence(evidence))

    # -- reading one ticket back (lists and ledgers are read models: projections/) ----------

    def ticket(self, number: str) -> dict:
        """One ticket's current state as plain data."""
        t = self._ticket(number)
        return {
            "number": t.number, "version": t.version, "title": t.title,
            "description": t.description, "state": State(t.state).value, "state_label": State(t.state).label,
            "town_id": t.town_id, "unit_id": t.unit_id, "category": t.category,
            "indicator_id": t.indicator_id, "severity": t.severity, "source": t.source,
            "lead_unit_id": t.lead_unit_id, "co_unit_ids": list(t.co_unit_ids),
            "person_id": t.person_id, "leader_ids": list(t.leader_ids), "deadline": t.deadline,
            "measures": t.measures, "opened_on": t.opened_on, "returns": t.returns, "reopens": t.reopens,
            "pending_extension": t.pending_extension,
            "evidence_before": list(t.evidence_before), "evidence_after": list(t.evidence_after),
            "photo_flags": list(t.photo_flags), "days_overdue": t.days_overdue(self.today()),
            "overdue_incurred": t.overdue_incurred, "extensions": t.extensions,
            "acknowledged": dict(t.acknowledged), "unacknowledged": t.unacknowledged(),
            "instructions": [dict(i, replies=list(i["replies"])) for i in t.instructions],
            "held_on": t.held_on, "opened_by": dict(t.opened_by),
        }

    def ticket_history(self, number: str) -> list[dict]:
        """Every event of a ticket, oldest first: what happened, when, by whom in which role."""
        history = []
        for e in self.events.get(ticket_id(require_id(number, "问题编号"))):
            details = {k: v for k, v in e.__dict__.items()
                       if k not in ("originator_id", "originator_version", "originator_topic",
                                    "timestamp", "by")}
            history.append({"version": e.originator_version, "event": type(e).__name__,
                            "at": beijing(e.timestamp), "by": e.by, "details": details})
        if not history:
            raise UnknownReferenceError(f"未知的问题编号：{number}")
        return history
