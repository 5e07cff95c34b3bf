"""Clocks the application is given, and the Beijing-time rules built on them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current instant, timezone-aware."""


class SystemClock:
    """Real time, for production."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """Real time moved by a fixed offset, so a demo set in the past keeps ticking."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class ManualClock:
    """A clock that only moves when told to: tests and the demo's simulated weeks."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("ManualClock needs timezone-aware instants")
        self._now = instant

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


def beijing(instant: datetime) -> datetime:
    """The instant as Beijing wall-clock time."""
    return instant.astimezone(BEIJING)


def beijing_date(instant: datetime) -> date:
    """The Beijing calendar day an instant falls on (deadlines and weeks are Beijing days)."""
    return instant.astimezone(BEIJING).date()


def at_beijing(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A Beijing wall-clock time on a day, as an aware datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)

