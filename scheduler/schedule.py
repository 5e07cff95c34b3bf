"""When each run of the cycle falls due, in Beijing time: APScheduler's cron triggers do the
calendar arithmetic, the official working-day calendar decides which days count.

Defaults: the week's check list on Monday 08:00, the bulletin on Friday 16:00, the
monthly recheck list on the first working day of the month at 09:00, reminders and escalation
every working day at 08:30."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from domain.clock import BEIJING, beijing
from domain.periods import Month, Week, iso_week
from domain.workdays import first_working_day, is_working_day

WEEKLY = re.compile(r"(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):([0-5]\d)")
DAILY = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def weekly(text: str) -> CronTrigger:
    """"fri 16:00" as a trigger; anything else is a ValueError that names the format."""
    match = WEEKLY.fullmatch(str(text).strip().lower())
    if not match:
        raise ValueError(f"「{text}」应写成 星期缩写 时:分，如 fri 16:00")
    return CronTrigger(day_of_week=match[1], hour=int(match[2]), minute=int(match[3]),
                       timezone=BEIJING)


def daily(text: str) -> CronTrigger:
    match = DAILY.fullmatch(str(text).strip())
    if not match:
        raise ValueError(f"「{text}」应写成 时:分，如 08:30")
    return CronTrigger(hour=int(match[1]), minute=int(match[2]), timezone=BEIJING)


@dataclass(frozen=True)
class Due:
    at: datetime      # when it fell due
    kind: str
    period: str


@dataclass(frozen=True)
class Schedule:
    checklist_at: str = "mon 08:00"
    bulletin_at: str = "fri 16:00"
    recheck_at: str = "09:00"      # on the first working day of each month
    reminders_at: str = "08:30"    # on every working day

    def bulletin_due(self, week: str) -> datetime:
        """When the bulletin of `week` falls due by this schedule."""
        return weekly(self.bulletin_at).get_next_fire_time(None, Week.parse(week).start)

    def due_between(self, since: datetime, until: datetime) -> list[Due]:
        """Every run due after `since` and up to `until`, oldest first."""
        runs = [Due(at, "checklist", iso_week(at.date()))
                for at in _fires(weekly(self.checklist_at), since, until)]
        runs += [Due(at, "bulletin", iso_week(at.date()))
                 for at in _fires(weekly(self.bulletin_at), since, until)]
        for at in _fires(daily(self.recheck_at), since, until):
            if at.date() == first_working_day(at.year, at.month):
                runs.append(Due(at, "recheck", str(Month.of(at.date()))))
        for at in _fires(daily(self.reminders_at), since, until):
            if is_working_day(at.date()):
                runs.append(Due(at, "reminders", at.date().isoformat()))
        return sorted(runs, key=lambda d: (d.at, d.kind))


def _fires(trigger: CronTrigger, since: datetime, until: datetime) -> list[datetime]:
    fires, previous = [], None
    moment = trigger.get_next_fire_time(None, beijing(since))
    while moment is not None and moment <= until:
        if moment > since:
            fires.append(moment)
        previous = moment
        moment = trigger.get_next_fire_time(previous, previous + timedelta(minutes=1))
    return fires
