"""Issuing the cycle's runs, one command per (kind, period) however often it is tried, with
the digests they send; and those digests' delivery, attempt by attempt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.clock import beijing_date
from domain.cycle import (
    KINDS,
    CycleRun,
    DocumentSerials,
    bulletin_number,
    document_number,
    document_text,
    period_start,
    run_id,
)
from domain.delivery import STEPS, Delivery, cut_off, delivery_id, message_id
from domain.errors import InvalidInputError, StaleVersionError, UnknownReferenceError
from domain.periods import Week
from domain.telling import SIGN_REMINDER

SIGNING = "修改和签发周通报"       # what only the office may do to a bulletin's draft

MAX_BACKOFF = timedelta(days=1)


class CycleCommands:
    """Mixed into XiaohaoApp (which provides `_get`, `_save`, `_require_office`, `directory`,
    `now`, `bulletin_number_pattern` and the repository)."""

    def campaign_start(self) -> date:
        """The day the county's campaign started here: the day its directory was created."""
        return beijing_date(self.directory().created_on)

    def issue_run(self, by: str, kind: str, period: str, content: dict, position: int,
                  deliveries: list[dict] = (), *, draft: bool = False,
                  document: dict | None = None) -> tuple[dict, bool]:
        """Record what a period's run issued, and queue its `deliveries` (each a recipient,
        subject and payload) in the same transaction. Returns the run and whether this call
        issued it: a period already issued (by anyone, in any process) is returned as it was,
        and `content` and `deliveries` are dropped. A `draft` (a bulletin) holds its
        deliveries until it is signed (`sign_bulletin`); `document` is what it proposes to
        say besides its figures (表扬, 批评, closing), kept apart from them."""
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
                       content=content, position=position, by=actor.login, timestamp=now,
                       draft=draft, document=document)
        queued = [self._queued(run, d, until_signed=draft) for d in deliveries]
        try:
            self.save(run, *queued)
        except IntegrityError:   # another scheduler issued it first, or it is something else
            existing = self.cycle_run(kind, period)
            if existing is None:
                raise
            return existing, False
        return run.as_dict(), True

    def _queued(self, run: CycleRun, d: dict, *, until_signed: bool = False) -> Delivery:
        return Delivery(run=run.id, recipient=d["recipient"], kind=run.kind, period=run.period,
                        subject=d["subject"], payload=d["payload"], timestamp=self.now(),
                        until_signed=until_signed,
                        message_id=message_id(self.county_code, run.kind, run.period,
                                              d["recipient"]["key"]))

    def cycle_run(self, kind: str, period: str) -> dict | None:
        """A period's run as issued, or None while it has not been."""
        period_start(kind, period)
        key = run_id(self.county_code, kind, period)
        if key not in self.repository:
            return None
        return self._get(key, f"{KINDS[kind]} {period} 不存在").as_dict()

    # -- a bulletin's draft and 签发 ----------------------------------------------------------

    def _draft(self, week: str, version: int | None = None) -> CycleRun:
        """The week's bulletin while it is a draft; refused once it is signed, or when it is
        no longer the `version` the office read (a colleague saved it meanwhile)."""
        words = Week.parse(week).words
        key = run_id(self.county_code, "bulletin", week)
        if key not in self.repository:
            raise UnknownReferenceError(f"{words}的周通报尚未生成")
        run = self._get(key, f"{words}的周通报尚未生成")
        if not run.draft:
            raise InvalidInputError(f"第{run.number}期周通报已签发，不能再修改或签发")
        if version is not None and version != run.version:
            raise StaleVersionError("草稿已被他人修改，请刷新页面，核对后再保存或签发")
        return run

    def edit_bulletin(self, by: str, week: str, praise: list[str], criticism: list[str],
                      closing: str, *, version: int | None = None) -> dict:
        """The office saves the draft's 表扬, 批评 and closing paragraph (one item a line)."""
        actor = self._require_office(by, SIGNING)
        run = self._draft(week, version)
        run.edit(document=document_text(praise, criticism, closing), by=actor.login,
                 timestamp=self.now())
        self._save(run)
        return run.as_dict()

    def sign_bulletin(self, by: str, week: str, praise: list[str] | None = None,
                      criticism: list[str] | None = None, closing: str | None = None, *,
                      version: int | None = None,
                      stamp: Callable[[str], dict] | None = None) -> dict:
        """签发: the draft published as the office last saved it (or with the parts given),
        numbered from the county's 文号 pattern with the next serial of the year it is signed
        in, its digests released to be sent. `version`, when given, is the draft the signer
        read: one a colleague has changed since is refused. `stamp`, when given, takes a
        checkpoint of the log to print on it and on every digest."""
        actor = self._require_office(by, SIGNING)
        run = self._draft(week, version)
        read = run.version
        given = None if praise is None else document_text(praise, criticism or [], closing or "")
        seal = stamp(f"周通报 {week} 签发") if stamp else None
        for _ in range(5):      # another bulletin signed at once took the serial: the next
            now = self.now()
            year = beijing_date(now).year
            serials = self._serials(year, now)
            serials.take(period=week, timestamp=now)
            run.sign(document=given or run.document, serial=serials.last,
                     document_number=document_number(self.bulletin_number_pattern, year,
                                                     serials.last),
                     seal=seal, by=actor.login, timestamp=now, period=run.period,
                     number=run.number)
            try:
                self.save(run, serials)
                return run.as_dict()
            except IntegrityError:      # the draft itself signed or changed meanwhile: said so
                run = self._draft(week, read)
        raise InvalidInputError("同时签发的周通报过多，请稍后重试")

    def _serials(self, year: int, now) -> DocumentSerials:
        key = DocumentSerials.create_id(self.county_code, year)
        if key in self.repository:
            return self._get(key, "文号序号不存在")
        return DocumentSerials(county_code=self.county_code, year=year, timestamp=now)

    def remind_to_sign(self, week: str, reminders: list[dict]) -> int:
        """Remind the office of a draft left unsigned (each reminder a recipient, subject
        and payload), once per person however often it is tried; returns how many this call
        queued. A draft signed meanwhile needs no reminder."""
        try:
            run = self._draft(week)
        except InvalidInputError:
            return 0
        fresh = [self._queued(run, r) for r in reminders
                 if delivery_id(run.id, r["recipient"]["key"]) not in self.repository]
        try:
            self.save(*fresh)
        except IntegrityError:      # another scheduler reminded them first
            return 0
        return len(fresh)

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
        return self._as_sent(self._delivery(delivery))

    def _as_sent(self, d: Delivery) -> dict:
        """A delivery as its mail says it: a bulletin's digest with the 文号, the 表扬 and
        批评 and the checkpoint its bulletin was signed with."""
        sent = d.as_dict()
        if d.until_signed:
            run = self._get(d.run, "周通报不存在")
            sent["payload"] = {**sent["payload"], "document_number": run.document_number,
                               "document": run.document,
                               **({"seal": run.seal} if run.seal else {})}
            if run.draft:
                sent["state"] = "unsigned"
        return sent

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
                      leading_since: datetime | None = None,
                      max_failures: int = 5) -> dict | None:
        """Claim a delivery for one attempt now; None when it is not due, is done, or another
        sender claimed it first. One found `sending` for longer than `stale_after`, or since
        before this sender took the lead from one that died (`leading_since`), was left by a
        sender that stopped mid-send: that attempt counts as failed (so a message that keeps
        killing its sender ends up failed too), and it is taken again with the same
        Message-ID."""
        d = self._delivery(delivery)
        reminder = d.payload.get("kind") == SIGN_REMINDER
        drafted = self._get(d.run, "周通报不存在").draft if d.until_signed or reminder else None
        if d.until_signed and drafted:
            return None     # its bulletin is not signed yet
        now = self.now()
        if reminder and d.state in ("queued", "sending") and not drafted:
            d.withdraw(reason="周通报已签发，不再提醒", timestamp=now)
            self._save(d)
            return None
        stale = (d.state == "sending"
                 and d.attempt_started_at <= cut_off(now, stale_after, leading_since))
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
        return self._as_sent(d) if d.state == "sending" else None

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
