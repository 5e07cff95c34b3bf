"""The cycle's periods in Beijing time: ISO weeks (2026-W48), months (2026-11) and days
(2026-11-30). Each has one spelling, parsed here and nowhere else; anything else is refused in
Chinese. A period knows its first (and a week or month its last) day; a week, the instants it
starts and ends."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.clock import BEIJING, beijing
from domain.errors import InvalidInputError

# The years a period may fall in: the campaigns this product serves run in this century, and a
# bound keeps a week's end, a month's last day and the pages' 下一周/下一月 within the calendar.
YEARS = range(2000, 2100)
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


def _shown(text: object) -> str:
    return str(text)[:20]


def _two_numbers(pattern: re.Pattern, text: object, refusal: str,
                 check: Callable[[int, int], object]) -> tuple[int, int]:
    """The two numbers of a period's one spelling, when `check` (the calendar) accepts them."""
    match = pattern.fullmatch(text) if isinstance(text, str) else None
    try:
        numbers = int(match[1]), int(match[2])
        check(*numbers)
    except (TypeError, ValueError):
        raise InvalidInputError(refusal) from None
    _in_years(numbers[0], text)
    return numbers


def _in_years(year: int, text: object) -> None:
    if year not in YEARS:
        raise InvalidInputError(f"「{_shown(text)}」超出可用的年份（{YEARS.start}—{YEARS.stop - 1} 年）")


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week, Monday to Sunday."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> Week:
        return cls(*_two_numbers(_WEEK, text, f"周次「{_shown(text)}」无效，应写成 2026-W48 这样的 ISO 周",
                                 lambda year, week: date.fromisocalendar(year, week, 1)))

    @classmethod
    def of(cls, day: date) -> Week:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def words(self) -> str:
        """The working week as a person says it: "2019年8月19日—23日", "2019年7月29日—8月2日"
        (an ISO code such as 2019-W34 is for addresses, not for reading)."""
        monday, friday = self.first_day, self.first_day + timedelta(days=4)
        end = (f"{friday.day}日" if friday.month == monday.month
               else f"{friday.month}月{friday.day}日" if friday.year == monday.year
               else f"{friday.year}年{friday.month}月{friday.day}日")
        return f"{monday.year}年{monday.month}月{monday.day}日—{end}"

    @property
    def short(self) -> str:
        """Its Monday on a chart's axis: "8/19"."""
        return f"{self.first_day.month}/{self.first_day.day}"

    @property
    def first_day(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=6)

    @property
    def start(self) -> datetime:
        """Monday 00:00 Beijing."""
        return _midnight(self.first_day)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 Beijing: the week's end, and the next week's start."""
        return _midnight(self.first_day + timedelta(days=7))

    def shifted(self, weeks: int) -> Week:
        return Week.of(self.first_day + timedelta(days=7 * weeks))


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        return cls(*_two_numbers(_MONTH, text, f"月份「{_shown(text)}」无效，应写成 2026-11",
                                 lambda year, month: date(year, month, 1)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.shifted(1).first_day - timedelta(days=1)

    def shifted(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)


@dataclass(frozen=True, order=True)
class Day:
    """One Beijing calendar day, written 2026-11-30 (20261130 would be another spelling)."""

    day: date

    @classmethod
    def parse(cls, text: str, field: str = "日期") -> Day:
        try:
            if isinstance(text, str) and _DAY.fullmatch(text):
                day = date.fromisoformat(text)
                _in_years(day.year, f"{field} {text}")
                return cls(day)
        except ValueError:
            pass
        raise InvalidInputError(f"{field}「{_shown(text)}」无效，应写成 2026-11-30")

    def __str__(self) -> str:
        return self.day.isoformat()

    @property
    def first_day(self) -> date:
        return self.day


PERIODS: dict[str, type[Week] | type[Month] | type[Day]] = {"week": Week, "month": Month,
                                                             "day": Day}


def parse_day(text: str, field: str = "日期") -> date:
    """A day typed into a form or a command line, in its one spelling."""
    return Day.parse(text, field).day


def iso_week(day: date) -> str:
    """The ISO week label a county office uses, e.g. 2026-W48."""
    return str(Week.of(day))


def week_ends(start: datetime, end: datetime) -> list[datetime]:
    """Every Monday 00:00 Beijing in [start, end): each one ends the ISO week before it."""
    moment = Week.of(beijing(start).date()).start
    if moment < start:
        moment += timedelta(days=7)
    ends = []
    while moment < end:
        ends.append(moment)
        moment += timedelta(days=7)
    return ends


def day_label(day: date, *, year: bool = False) -> str:
    """A day as a 通报 writes it: 11月27日 (2026年11月27日 with `year`)."""
    return f"{f'{day.year}年' if year else ''}{day.month}月{day.day}日"


def moment_label(moment: datetime, *, year: bool = False) -> str:
    """An instant as a 通报 writes it, Beijing time, to the minute: 11月27日16:00; midnight
    is the end of the day before (11月29日24:00), as a week issued at its end reads."""
    moment = beijing(moment)
    if moment.time() == datetime.min.time():
        return f"{day_label(moment.date() - timedelta(days=1), year=year)}24:00"
    return f"{day_label(moment.date(), year=year)}{moment:%H:%M}"


def span_label(since: datetime | date, until: datetime) -> str:
    """From an instant (or the start of a day) to an instant: 11月20日16:00—11月27日16:00,
    with the years when the two lie in different years."""
    first = since if isinstance(since, datetime) else _midnight(since)
    year = beijing(first).year != beijing(until).year
    start = moment_label(since, year=year) if isinstance(since, datetime) \
        else day_label(since, year=year)
    return f"{start}—{moment_label(until, year=year)}"
