"""The cycle's runs, each an aggregate keyed by its period: the week's check list
and its bulletin (2026-W48), the month's recheck list (2026-11), a day's reminders
(2026-11-30). The id is derived from the kind and the period, so however many schedulers try,
a period is issued once: a second attempt meets the first in the event store."""

from __future__ import annotations

import re
import string
from datetime import date, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInputError
from domain.periods import PERIODS, Week
from domain.values import clean_text

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


# 签发: what the office writes into a bulletin besides its figures, and how much of it.
MOST_ITEMS, ITEM_CHARS, CLOSING_CHARS = 20, 300, 2000
DOCUMENT_PARTS = {"praise": "表扬", "criticism": "批评"}


# The number a clerk types before an item ("1．", "2、", "（3）", "四、"): the document numbers them.
TYPED_NUMBER = re.compile(r"^\s*(?:[（(]\s*[0-9一二三四五六七八九十]+\s*[）)]|"
                          r"[0-9一二三四五六七八九十]+\s*[.．、])\s*")


def document_text(praise: list[str], criticism: list[str], closing: str) -> dict:
    """表扬 and 批评 items (blank ones dropped, a number typed before one left to the document)
    and the closing paragraph (its lines kept) as the office wrote them, each checked; a
    problem is refused with the part and item it is in."""
    document = {}
    for part, items in (("praise", praise), ("criticism", criticism)):
        label = DOCUMENT_PARTS[part]
        if isinstance(items, str) or not all(isinstance(i, str) for i in items):
            raise InvalidInputError(f"{label}须是逐条的文字")
        kept = [TYPED_NUMBER.sub("", i) for i in items if i.strip()]
        if len(kept) > MOST_ITEMS:
            raise InvalidInputError(f"{label}最多 {MOST_ITEMS} 条，现有 {len(kept)} 条")
        document[part] = [clean_text(i, f"{label}第{n}条", limit=ITEM_CHARS)
                          for n, i in enumerate(kept, start=1)]
    if not isinstance(closing, str):
        raise InvalidInputError("结束语必须是文本")
    lines = [clean_text(line, "结束语", limit=CLOSING_CHARS, required=False)
             for line in closing.splitlines()]
    document["closing"] = clean_text("\n".join(line for line in lines if line), "结束语",
                                     limit=CLOSING_CHARS, required=False)
    return document


def check_number_pattern(pattern: str) -> str:
    """A 文号 pattern holds its year and its serial as {year} and {serial}, plainly (no format
    spec, conversion, attribute or index), and nothing else in braces; otherwise refused."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion
                  in string.Formatter().parse(pattern) if name is not None]
    except ValueError:
        fields = [("?", "", None)]
    names = [name for name, _, _ in fields]
    if sorted(names) != ["serial", "year"] or any(spec or conversion for _, spec, conversion
                                                   in fields):
        raise InvalidInputError("文号格式须含一个 {year}（年份）和一个 {serial}（序号），"
                                "不含其他花括号内容，如 泗创办通〔{year}〕{serial}号")
    return pattern


def document_number(pattern: str, year: int, serial: int) -> str:
    """A 文号 from the county's pattern: 泗创办通〔2019〕8号."""
    return pattern.format(year=year, serial=serial)


class CycleRun(Aggregate):
    """One period's run: what it issued (its content), built from which log position. A
    bulletin is first a draft (the figures fixed, 表扬/批评 proposed), which the office edits
    and 签发s: only then is it published, numbered (文号) and its digests sent."""

    @staticmethod
    def create_id(county_code: str, kind: str, period: str) -> UUID:
        return run_id(county_code, kind, period)

    @event("Issued")
    def __init__(self, county_code: str, kind: str, period: str, number: int, content: dict,
                 position: int, by: str, timestamp: datetime, draft: bool = False,
                 document: dict | None = None) -> None:
        self.county_code = county_code
        self.kind = kind
        self.period = period
        self.number = number
        self.content = content
        self.position = position
        self.by = by
        self.issued_at = timestamp
        self.draft = draft
        self.document = dict(document or {})     # a draft's 表扬, 批评 and closing as proposed
        self.document_number = ""
        self.seal: dict | None = None
        self.signed_by = ""
        self.signed_at: datetime | None = None

    @event("Edited")
    def edit(self, document: dict, by: str, timestamp: datetime) -> None:
        """The draft's 表扬, 批评 and closing paragraph as the office last saved them."""
        self.document = document

    @event("Signed")
    def sign(self, document: dict, document_number: str, serial: int, seal: dict | None,
             by: str, timestamp: datetime, period: str, number: int) -> None:
        """签发: the document as published, its 文号 (`serial` of its year), and the
        checkpoint of the log taken as it was signed (the event names its period and 期,
        so that a record of the checkpoint's prints needs nothing else)."""
        self.document = document
        self.document_number = document_number
        self.seal = seal
        self.draft = False
        self.signed_by = by
        self.signed_at = timestamp

    def as_dict(self) -> dict:
        content = {**self.content, "seal": self.seal} if self.seal else self.content
        return {"kind": self.kind, "period": self.period, "number": self.number,
                "content": content, "position": self.position, "by": self.by,
                "issued_at": self.issued_at, "draft": self.draft, "document": self.document,
                "document_number": self.document_number, "signed_by": self.signed_by,
                "signed_at": self.signed_at, "version": self.version}


SERIALS_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/document-serials")


class DocumentSerials(Aggregate):
    """The 文号 serials of one county's bulletins in one year, taken in order of 签发. Saved
    with the bulletin it numbers, so two bulletins signed at once conflict here and one
    is signed again with the next serial."""

    @staticmethod
    def create_id(county_code: str, year: int) -> UUID:
        return uuid5(SERIALS_NAMESPACE, f"{county_code}:{year}")

    @event("Started")
    def __init__(self, county_code: str, year: int, timestamp: datetime) -> None:
        self.county_code = county_code
        self.year = year
        self.last = 0

    @event("Taken")
    def take(self, period: str, timestamp: datetime) -> None:
        self.last += 1
