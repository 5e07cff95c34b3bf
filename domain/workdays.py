"""Working days by China's official calendar (holidays and the weekends worked in exchange),
from the `chinese-calendar` package. For a year its data does not cover yet, Monday to Friday
stand in (less the holidays fixed by date); `uncovered_years` tells the office (工作台) and the
scheduler's log."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

# Holidays on the same date every year (元旦, 劳动节, 国庆): kept even without a year's data.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}


def covers(year: int) -> bool:
    """Whether the official calendar of `year` is known (the package publishes each year's
    once the State Council announces it, usually in November of the year before)."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
        return True
    except NotImplementedError:
        return False


def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def first_working_day(year: int, month: int) -> date:
    day = date(year, month, 1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def uncovered_years(today: date, days: int = 30) -> list[int]:
    """The years of the coming `days` whose official calendar is not known yet."""
    return [y for y in sorted({today.year, (today + timedelta(days=days)).year}) if not covers(y)]
