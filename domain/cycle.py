"""The cycle's runs (DESIGN §3), each an aggregate keyed by its period: the week's check list
and its bulletin (2026-W48), the month's recheck list (2026-11), a day's reminders
(2026-11-30). The id is derived from the kind and the period, so however many schedulers try,
a period is issued once: a second attempt meets the first in the event store."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInputError

RUN_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/cycle-run")
WEEK = re.compile(r"(\d{4})-W(\d{2})")
MONTH = re.compile(r"(\d{4})-(\d{2})")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
KINDS = {"checklist": "周检查清单", "bulletin": "周通报", "recheck": "月回查清单",
         "reminders": "到期提醒与逾期督办"}
PERIOD_OF = {"checklist": "week", "bulletin": "week", "recheck": "month", "reminders": "day"}


def run_id(county_code: str, kind: str, period: str) -> UUID:
    return uuid5(RUN_NAMESPACE, f"{county_code}:{kind}:{period}")


def week_monday(week: str) -> date:
    """The Monday of an ISO week written like 2026-W48; anything else is refused in Chinese."""
    match = WEEK.fullmatch(week or "")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except (TypeError, ValueError):
        raise InvalidInputError(f"周次「{str(week)[:20]}」无效，应写成 2026-W48 这样的 ISO 周") from None


def month_first(month: str) -> date:
    """The first day of a month written like 2026-11."""
    match = MONTH.fullmatch(month or "")
    try:
        return date(int(match[1]), int(match[2]), 1)
    except (TypeError, ValueError):
        raise InvalidInputError(f"月份「{str(month)[:20]}」无效，应写成 2026-11") from None


def period_start(kind: str, period: str) -> date:
    """The first day a run's period covers; a kind or period that does not exist is refused."""
    if kind not in KINDS:
        raise InvalidInputError(f"没有这种周期任务：{str(kind)[:20]}")
    match PERIOD_OF[kind]:
        case "week":
            return week_monday(period)
        case "month":
            return month_first(period)
        case _:   # only the one spelling: 20261130 would be another run of the same day
            try:
                if DAY.fullmatch(period):
                    return date.fromisoformat(period)
            except (TypeError, ValueError):
                pass
            raise InvalidInputError(f"日期「{str(period)[:20]}」无效，应写成 2026-11-30")


def bulletin_number(campaign_start: date, week: str) -> int:
    """第N期: the weekly bulletins are numbered from the week the campaign started (期 1)."""
    first = campaign_start - timedelta(days=campaign_start.weekday())
    return (week_monday(week) - first).days // 7 + 1


class CycleRun(Aggregate):
    """One period's run: what it issued (its content), built from which log position."""

    @staticmethod
    def create_id(county_code: str, kind: str, period: str) -> UUID:
        return run_id(county_code, kind, period)

    @event("Issued")
    def __init__(self, county_code: str, kind: str, period: str, number: int, content: dict,
                 position: int, by: str, timestamp: datetime) -> None:
        self.county_code = county_code
        self.kind = kind
        self.period = period
        self.number = number
        self.content = content
        self.position = position
        self.by = by
        self.issued_at = timestamp

    def as_dict(self) -> dict:
        return {"kind": self.kind, "period": self.period, "number": self.number,
                "content": self.content, "position": self.position, "by": self.by,
                "issued_at": self.issued_at}
