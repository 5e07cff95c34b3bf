"""Ticket numbers people can read and say aloud: SS-2026-0042, one counter per county and year."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.copying import CopiesContainersOnly

COUNTER_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/ticket-counter")


@lru_cache(maxsize=64)
def counter_id(county_code: str, year: int) -> UUID:
    return uuid5(COUNTER_NAMESPACE, f"{county_code}-{year}")


def format_number(county_code: str, year: int, serial: int) -> str:
    return f"{county_code}-{year}-{serial:04d}"


class TicketCounter(CopiesContainersOnly, Aggregate):
    """Issues serial numbers in order. Saved with the ticket it numbers, so two processes that
    take the same serial conflict on the counter's version and one of them retries."""

    @staticmethod
    def create_id(county_code: str, year: int) -> UUID:
        return counter_id(county_code, year)

    @event("Started")
    def __init__(self, county_code: str, year: int, timestamp: datetime) -> None:
        self.county_code = county_code
        self.year = year
        self.last = 0

    def next_number(self, ahead: int = 0) -> str:
        """The next serial's number, or the one `ahead` after it (for a batch)."""
        return format_number(self.county_code, self.year, self.last + 1 + ahead)

    @event("Issued")
    def issue(self, number: str, timestamp: datetime) -> None:
        self.last += 1

    @event("IssuedMany")
    def issue_many(self, first: str, last: str, count: int, timestamp: datetime) -> None:
        """A batch's serials at once (one event, however many tickets it numbers)."""
        self.last += count
