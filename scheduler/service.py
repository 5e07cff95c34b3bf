"""The cycle running itself. APScheduler ticks every `scheduler_tick_seconds`; each tick queues
the notices the ticket events recorded since the last tick send (scheduler/notices.py), issues
every run that has fallen due by the application's clock (the schedule's cron triggers say
when) and has not been issued, oldest first, then sends what is queued. So a run missed while
the server was down is made up at the next start, in order (back to `missed_runs_days`), and
the demo's clock, moved into its own weeks, drives the cycle as real time would."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from domain.application import XiaohaoApp
from domain.checkpoints import Sealer
from domain.clock import BEIJING, beijing_date
from domain.errors import DomainError, UnknownReferenceError
from domain.workdays import uncovered_years
from projections.readmodels import ReadModels
from scheduler.notices import Notices
from scheduler.runs import issue, settle_drafts
from scheduler.schedule import Schedule
from scheduler.sender import Sender

log = logging.getLogger("xiaohao.scheduler")
# Upkeep that needs no particular day, at a quiet hour of the real clock (Beijing time).
CHORES_AT = CronTrigger(hour=3, minute=15, timezone=BEIJING)


class Leadership(Protocol):
    """Which of the schedulers on one event store leads: only the leader ticks. A lock the
    database or the file system releases when its holder dies (xiaohao/adapters/leading.py)."""

    def take(self) -> bool:
        """Lead if nobody does; True while this process leads (its hold checked)."""

    def release(self) -> None: ...


class Cycle:
    """The cycle over its own read models, built by the composition root (xiaohao/wiring.py).
    With a `leadership`, any number of cycles may run on one store: one leads and ticks, the
    others try for the lead every `contend_seconds` and take over when the leader dies."""

    def __init__(self, app: XiaohaoApp, read: ReadModels, schedule: Schedule, sender: Sender,
                 notices: Notices, *, warn_days: int, missed_runs_days: int,
                 tick_seconds: float, base_url: str, seal: Sealer | None = None,
                 sign_within: timedelta = timedelta(hours=2), auto_sign: bool = False,
                 leadership: Leadership | None = None, contend_seconds: float = 5,
                 daily_chores: Sequence[Callable[[], object]] = ()) -> None:
        self.app, self.read, self.schedule, self.sender = app, read, schedule, sender
        self.seal = seal    # followed every tick, checkpointed at every run and daily
        self.daily_chores = daily_chores    # upkeep, by the wall clock (CHORES_AT)
        self.notices = notices
        self.base_url = base_url
        self.missed = timedelta(days=missed_runs_days)
        self.warn_days = warn_days
        self.tick_seconds = tick_seconds
        self.sign_within, self.auto_sign = sign_within, auto_sign   # a bulletin's draft
        self.leadership, self.contend_seconds = leadership, contend_seconds
        self._leading = False
        self._leading_since: datetime | None = None   # when this process took the lead
        self._done: set[tuple[str, str]] = set()   # issued, or passed over, by this process
        self._warned: set[int] = set()             # years told to have no official calendar
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def tick(self) -> list[dict]:
        """Issue what has fallen due, then send; returns the runs this call issued. A run
        that cannot be issued now (say a read model has stopped) is logged and tried again
        next tick, with those after it, so that runs stay in order; sending goes on. Notices
        are queued first, so that a day's digest gathers what was held up to its run."""
        if not self.leads():
            return []
        with self._lock:
            try:
                self._follow()
                issued = self._issue_due()
                self._settle_drafts()
                self._checkpoint_daily()
                return issued
            finally:
                self.sender.send_due(self._stopping, leading_since=self._leading_since)

    def leads(self) -> bool:
        """Whether this cycle leads now (always, without a leadership); says so when that
        changes."""
        leading = self.leadership is None or self.leadership.take()
        if leading != self._leading:
            self._leading = leading
            self._leading_since = self.app.now() if leading else None
            if self.leadership is not None:
                log.warning("this scheduler %s", "leads now" if leading else "no longer leads")
        return leading

    def _contend(self) -> None:
        """A follower's try for the lead; one that takes it ticks at once."""
        was = self._leading
        try:
            if self.leads() and not was:
                self._scheduler.modify_job("cycle", next_run_time=datetime.now(BEIJING))
        except Exception:   # the store may be down: the next try is a few seconds away
            log.exception("trying for the lead failed")

    def _follow(self) -> None:
        try:
            if queued := self.notices.follow():
                log.info("queued %d notices", queued)
        except Exception:   # the runs and sending go on; the next tick reads from where it was
            log.exception("following the log for notices failed")

    def _settle_drafts(self) -> None:
        try:
            for week in settle_drafts(self.app, self.read, sign_within=self.sign_within,
                                      auto_sign=self.auto_sign, seal=self.seal,
                                      base_url=self.base_url):
                log.info("bulletin %s left unsigned: %s", week,
                         "signed as it stood" if self.auto_sign else "the office reminded")
        except Exception:   # tried again next tick; runs and sending go on
            log.exception("settling the bulletins' drafts failed")

    def _checkpoint_daily(self) -> None:
        if self.seal is None:
            return
        try:
            if checkpoint := self.seal.checkpoint_if_due():
                log.info("checkpoint of the log at %d events", checkpoint["size"])
        except Exception:   # sealing catches up next tick; runs and sending go on
            log.exception("sealing the log failed")

    def _issue_due(self) -> list[dict]:
        now = self.app.now()
        try:
            first = self.app.campaign_start()
        except UnknownReferenceError:
            return []   # before `xiaohao init`: nothing to run yet
        start = datetime.combine(first, time(), tzinfo=BEIJING)
        self._warn_of_calendar_gaps(beijing_date(now))
        issued = []
        for due in self.schedule.due_between(max(now - self.missed, start), now):
            if (due.kind, due.period) in self._done:
                continue
            if due.kind == "reminders" and due.at.date() < beijing_date(now):
                # A missed day's digests are not lost: the next day's run gathers from where
                # the last run that was issued stopped.
                log.info("reminders of %s were missed and are not sent late", due.period)
            else:
                try:
                    run, new = issue(self.app, self.read, due.kind, due.period,
                                     warn_days=self.warn_days, base_url=self.base_url,
                                     seal=self.seal)
                except DomainError as error:
                    log.error("%s %s could not be issued: %s", due.kind, due.period, error)
                    break
                if new:
                    issued.append(run)
                    log.info("issued %s %s", due.kind, due.period)
            self._done.add((due.kind, due.period))
        return issued

    def _warn_of_calendar_gaps(self, today) -> None:
        for year in uncovered_years(today):
            if year not in self._warned:
                self._warned.add(year)
                log.warning("chinese-calendar has no official calendar for %s: Monday to Friday "
                            "count as working days until the package is updated", year)

    def _tick_logged(self) -> None:
        try:
            self.tick()
        except Exception:   # the next tick tries again; a scheduler thread must not die
            log.exception("the cycle's tick failed")

    def start(self) -> Cycle:
        """Tick in the background from now on (the first tick at once)."""
        self._scheduler = BackgroundScheduler(timezone=BEIJING)
        self._scheduler.add_job(self._tick_logged, IntervalTrigger(seconds=self.tick_seconds),
                                id="cycle", max_instances=1, coalesce=True,
                                next_run_time=datetime.now(BEIJING))
        if self.leadership is not None:
            self._scheduler.add_job(self._contend, IntervalTrigger(seconds=self.contend_seconds),
                                    id="contend", max_instances=1, coalesce=True)
        for chore in self.daily_chores:
            self._scheduler.add_job(self._chore_logged, CHORES_AT, args=[chore], coalesce=True,
                                    id=f"chore-{getattr(chore, '__name__', id(chore))}")
        self._scheduler.start()
        return self

    @staticmethod
    def _chore_logged(chore: Callable[[], object]) -> None:
        try:
            chore()
        except Exception:   # tomorrow's run tries again
            log.exception("a daily chore failed")

    def stop(self) -> None:
        """Let a tick under way finish its current message, then stop (and hand on the lead);
        a cycle only ever ticked by hand just hands on the lead."""
        self._stopping.set()
        if hasattr(self, "_scheduler"):
            self._scheduler.shutdown(wait=True)
        if self.leadership is not None:
            self.leadership.release()
        self.read.close()
