"""Telling people of what happens to their tickets, from the log: a follower that reads the
ticket events after the position it last stored, asks the policy (domain/notices.py) who is
told, and queues one delivery per event and recipient, keyed by both. So the command that
made the event does no more than before, and a restart, or a second follower on the same log,
meets the deliveries already queued instead of queuing them again."""

from __future__ import annotations

import logging
from datetime import timedelta

from domain.application import XiaohaoApp
from domain.clock import beijing_date
from domain.delivery import event_key
from domain.errors import DomainError
from domain.notices import TOLD, tell, told
from projections.readmodels import ReadModels
from projections.runs import notices_position, office_accounts, record_notices_position

log = logging.getLogger("xiaohao.scheduler")

TOPICS = tuple(f"domain.ticket:Ticket.{name}" for name in TOLD)
TICKET_FIELDS = ("number", "title", "unit_id", "town_id", "lead_unit_id", "co_unit_ids",
                 "deadline", "instructions")
BATCH = 500


class Notices:
    """The follower, over this process's read database (where it keeps its position)."""

    def __init__(self, app: XiaohaoApp, read: ReadModels, *, base_url: str,
                 max_age: timedelta) -> None:
        self.app, self.read = app, read
        self.base_url = base_url.rstrip("/")
        self.max_age = max_age      # an older event is not told (a first start, a long stop)

    def follow(self) -> int:
        """Queue what every ticket event recorded since the last call tells; returns how many
        deliveries this call queued."""
        db = self.read.fresh()      # the directory's accounts, for the office's address
        position = notices_position(db)
        head = self.app.recorder.max_notification_id() or 0
        if position >= head:
            return 0
        # What every event of this call is told with, read once. The position is recorded per
        # batch: a batch told again after a crash queues nothing twice (deliveries are keyed
        # by event and recipient).
        context = {"directory": self.app.directory(), "office": office_accounts(db)}
        queued = 0
        while position < head:
            batch = self.app.recorder.select_notifications(
                start=position + 1, limit=BATCH, stop=head, topics=TOPICS)
            for notification in batch:
                queued += self._tell(notification, **context)
            position = batch[-1].id if len(batch) == BATCH else head
            record_notices_position(db, position)
        return queued

    def _tell(self, notification, *, directory, office) -> int:
        event = self.app.mapper.to_domain_event(notification)
        name = type(event).__name__
        fields = {k: v for k, v in vars(event).items() if k not in ("originator_id",
                                                                 "originator_version")}
        if not told(name, fields) or event.timestamp < self.app.now() - self.max_age:
            return 0
        ticket = self.app.repository.get(event.originator_id, version=event.originator_version)
        facts = {k: getattr(ticket, k, None) for k in TICKET_FIELDS}
        try:
            notices = tell(name, fields, facts, directory, beijing_date(event.timestamp),
                           link=f"{self.base_url}/tickets/{ticket.number}",
                           county=directory.county_name, office=office,
                           author=self._author(name, fields, facts))
        except (DomainError, KeyError, IndexError, TypeError) as error:   # a fault of ours
            log.error("notice of %s %s v%s could not be made: %r", ticket.number, name,
                      event.originator_version, error)
            return 0
        return self.app.queue_notices(event_key(event.originator_id, event.originator_version),
                                      f"{ticket.number}.v{event.originator_version}", notices)

    def _author(self, name: str, event: dict, ticket: dict) -> str | None:
        """The person who gave the 批示 a reply answers (through their account)."""
        if name != "InstructionReplied":
            return None
        instructions = ticket["instructions"] or []
        n = event.get("instruction") or 0
        if not 0 < n <= len(instructions):
            return None
        try:
            return self.app.account(instructions[n - 1]["by"]["login"])["person_id"]
        except DomainError:
            return None
