"""The cycle's runs, each an aggregate keyed by its period: the week's check list
and its bulletin (2026-W48), the month's recheck list (2026-11), a day's reminders
(2026-11-30). The id is derived from the kind and the period, so however many schedulers try,
a period is issued once: a second attempt meets the first in the event store."""

from __future__ import annotations

from datetime import date, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInputError
from domain.periods import PERIODS, Week

RUN_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/cycle-run")
KINDS = {"checklist": "周检查清单", "bulletin": "周通报", "recheck": "月回查清单",
         "reminders": "到期提醒与逾期督办"}
PERIOD_OF = {"checklist": "week", "bulletin": "week", "recheck": "month", "reminders": "day"}


def run_id(county_code: str, kind: str, period: str) -> UUID:
    return uuid5(RUN_NAMESPACE, f"{county_code}:{kind}:{period}")


def period_start(kind: str, period: str) -> date:
    """The first day a run's period covers; a kind or period that does not exist is refused."""
    if kind not in KINDS:
        raise InvalidInputError(f"没有这种周期任务：{str(kind)[:20]}")
    return PERIODS[PERIOD_OF[kind]].parse(period).first_day


def bulletin_number(campaign_start: date, week: str) -> int:
    """第N期: the weekly bulletins are numbered from the week the campaign started (期 1)."""
    return (Week.parse(week).first_day - Week.of(campaign_start).first_day).days // 7 + 1


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
