"""Issuing the cycle's runs, one command per (kind, period) however often it is tried, with
the digests they send; and those digests' delivery, attempt by attempt."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.clock import beijing_date
from domain.cycle import KINDS, CycleRun, bulletin_number, period_start, run_id
from domain.delivery import STEPS, Delivery, delivery_id, message_id
from domain.errors import InvalidInputError, UnknownReferenceError

MAX_BACKOFF = timedelta(days=1)


class CycleCommands:
    """Mixed into XiaohaoApp (which provides `_get`, `_save`, `_require_office`, `directory`,
    `now` and the repository)."""

    def campaign_start(self) -> date:
        """The day the county's campaign started here: the day its directory was created."""
        return beijing_date(self.directory().created_on)

    def issue_run(self, by: str, kind: str, period: str, content: dict, position: int,
                  deliveries: list[dict] = ()) -> tuple[dict, bool]:
        """Record what a period's run issued, and queue its `deliveries` (each a recipient,
        subject and payload) in the same transaction. Returns the run and whether this call
        issued it: a period already issued (by anyone, in any process) is returned as it was,
        and `content` and `deliveries` are dropped."""
        actor = self._require_office(by, "发布周通报和提醒")
        start = period_start(kind, period)
        if start > beijing_date(self.now()):
            raise InvalidInputError(f"{KINDS[kind]}的周期 {period} 尚未开始，不能提前发布")
        first = self.campaign_start()
        if kind == "bulletin" and bulletin_number(first, period) < 1:
            raise InvalidInputError(f"{period} 早于创建工作开始（{first}），没有这一期周通报")
        existing = self.cycle_run(kind, period)
        if existing is not None:
            return existing, False
        keys = [d["recipient"]["key"] for d in deliveries]
        if len(keys) != len(set(keys)):
            raise ValueError(f"a run sends one message per recipient: {sorted(keys)}")
        now = self.now()
        number = bulletin_number(first, period) if kind == "bulletin" else 0
        run = CycleRun(county_code=self.county_code, kind=kind, period=period, number=number,
                       content=content, position=position, by=actor.login, timestamp=now)
        queued = [Delivery(run=run.id, recipient=d["recipient"], kind=kind, period=period,
                           subject=d["subject"], payload=d["payload"], timestamp=now,
                           message_id=message_id(self.county_code, kind, period,
                                                 d["recipient"]["key"]))
                  for d in deliveries]
        try:
            self.save(run, *queued)
        except IntegrityError:   # another scheduler issued it first, or it is something else
            existing = self.cycle_run(kind, period)
            if existing is None:
                raise
            return existing, False
        return run.as_dict(), True

    def cycle_run(self, kind: str, period: str) -> dict | None:
        """A period's run as issued, or None while it has not been."""
        period_start(kind, period)
        key = run_id(self.county_code, kind, period)
        if key not in self.repository:
            return None
        return self._get(key, f"{KINDS[kind]} {period} 不存在").as_dict()

    def queue_notices(self, event: UUID, period: str, notices: list[dict]) -> int:
        """Queue what one recorded event tells (domain/notices.py), keyed by the event
        (`domain.delivery.event_key`) and each recipient, so that however many followers read
        the event, however often, each person is told once. Returns how many this call queued."""
        fresh = [n for n in notices
                 if delivery_id(event, n["recipient"]["key"]) not in self.repository]
        try:
            self.save(*(self._notice(event, period, n) for n in fresh))
        except IntegrityError:   # another follower queued some of them first: the rest, alone
            return sum(self._queue_alone(event, period, n) for n in fresh)
        return len(fresh)

    def _notice(self, event: UUID, period: str, notice: dict) -> Delivery:
        key = notice["recipient"]["key"]
        return Delivery(run=event, recipient=notice["recipient"], kind="notice", period=period,
                        subject=notice["subject"], payload=notice["payload"],
                        held=notice["held"], timestamp=self.now(),
                        message_id=message_id(self.county_code, "notice", period, key))

    def _queue_alone(self, event: UUID, period: str, notice: dict) -> int:
        try:
            self.save(self._notice(event, period, notice))
        except IntegrityError:
            return 0
        return 1

    # -- delivery --------------------------------------------------------------------------

    def delivery(self, delivery: UUID | str) -> dict:
        return self._delivery(delivery).as_dict()

    def delivery_record(self, delivery: UUID | str) -> list[dict]:
        """A delivery's every step, oldest first: what happened (STEPS), when, through which
        channel, with which error, by whom (a requeue); the mail's own words stay in `delivery`."""
        record = []
        for e in self.events.get(self._delivery(delivery).id):
            name = type(e).__name__
            record.append({"step": name, "label": STEPS.get(name, name), "at": e.timestamp,
                           "channel": getattr(e, "channel", ""), "detail": getattr(e, "detail", ""),
                           "error": getattr(e, "error", ""), "by": getattr(e, "by", ""),
                           "retry_at": getattr(e, "retry_at", None)})
        return record

    def _delivery(self, delivery: UUID | str) -> Delivery:
        """The delivery with this id; any other id (a ticket's, an account's) is unknown."""
        try:
            key = UUID(str(delivery))
        except ValueError:
            raise UnknownReferenceError("没有这封待发邮件") from None
        found = self._get(key, "没有这封待发邮件")
        if not isinstance(found, Delivery):
            raise UnknownReferenceError("没有这封待发邮件")
        return found

    def begin_attempt(self, delivery: UUID | str, channel: str, *,
                      stale_after: timedelta = timedelta(minutes=10),
                      max_failures: int = 5) -> dict | None:
        """Claim a delivery for one attempt now; None when it is not due, is done, or another
        sender claimed it first. One found `sending` for longer than `stale_after` was left
        by a sender that stopped mid-send: that attempt counts as failed (so a message that
        keeps killing its sender ends up failed too), and it is taken again with the same
        Message-ID."""
        d = self._delivery(delivery)
        now = self.now()
        stale = d.state == "sending" and d.attempt_started_at <= now - stale_after
        if not (stale or (d.state == "queued" and d.next_attempt_at <= now)):
            return None
        if stale:
            final = d.failures + 1 >= max_failures
            d.attempt_failed(error="上次发送中断，结果未知", retry_at=None if final else now,
                             timestamp=now)
        if d.state == "queued":
            d.attempt(channel=channel, timestamp=now)
        try:
            self.save(d)
        except IntegrityError:
            return None
        return d.as_dict() if d.state == "sending" else None

    def finish_attempt(self, delivery: UUID | str, attempt: int, *, error: str = "",
                       detail: str = "", max_failures: int = 5,
                       backoff: timedelta = timedelta(minutes=1),
                       permanent: bool = False) -> dict:
        """The outcome of attempt number `attempt`: delivered, or failed and retried after a
        backoff that doubles each time (at most a day), until `max_failures` (or a
        `permanent` error such as a missing address) leaves it failed for the office to see.
        Delivered is final, whichever attempt says so; a failure is recorded only for the
        current attempt (not for one another sender has since taken over as stale)."""
        d = self._delivery(delivery)
        if d.state != "sending" or (error and d.attempts != attempt):
            return d.as_dict()
        now = self.now()
        if not error:
            d.delivered(channel=detail.split(":")[0], detail=detail, timestamp=now)
        else:
            final = permanent or d.failures + 1 >= max_failures
            wait = min(backoff * 2 ** min(d.failures, 20), MAX_BACKOFF)
            d.attempt_failed(error=error[:500], retry_at=None if final else now + wait,
                             timestamp=now)
        self._save(d)
        return d.as_dict()

    def requeue_delivery(self, by: str, delivery: UUID | str) -> None:
        """重发: the office sends a failed delivery again, with a fresh count of attempts."""
        actor = self._require_office(by, "重发消息")
        d = self._delivery(delivery)
        if d.state != "failed":
            raise InvalidInputError("只有发送失败的邮件可以重发")
        d.requeue(by=actor.login, timestamp=self.now())
        self._save(d)
