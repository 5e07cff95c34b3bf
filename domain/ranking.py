"""How towns, units and the county are measured and compared (周通报, 工作台), each figure
defined once here and in the README:

- **found** (发现), **closed** (销号), **cancelled** (撤销), **reopened** (重新整改) are counts of
  events (Opened, Closed, Cancelled, Reopened): in a calendar week (工作台), or in a bulletin's
  本期, from the previous bulletin's moment to its own (projections/bulletin.py); a cumulative
  figure counts them all up to the moment, so it is the sum of the weekly ones and of the 本期
  ones of the bulletins issued. Nothing is netted silently.
- **closure rate** (销号率) = (closed − reopened) ÷ (found − cancelled): the tickets closed now
  (a reopened ticket is closed again only by a new 销号) over the tickets that stand (a
  cancelled finding was withdrawn). None ("—") where nothing stands.
- **on-time rate** (按期整改率): of the tickets whose deadline set at assignment (the first 交办's
  完成时限, whatever extensions came later) has passed, the share rectified on or before that
  deadline by a rectification (its 整改完成日期) that then passed re-inspection. A ticket's
  deadline has passed on the day after it. Cancelled tickets are left out. None ("—") where no
  deadline has passed.
- **extensions** (延期次数): how many extensions (同意延期) were granted.
- **ranking** (排名): competition ranking on the closure rate, highest first (equal rates share a
  rank and the next rank skips: 1, 2, 2, 4); a town or unit with nothing found has no rate and
  no rank ("—") and is listed after the ranked ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date


def closure_rate(closed: int, reopened: int, found: int, cancelled: int) -> float | None:
    """(closed − reopened) ÷ (found − cancelled), to four places; None when nothing stands."""
    standing = found - cancelled
    return round((closed - reopened) / standing, 4) if standing > 0 else None


def on_time_rate(on_time: int, due: int) -> float | None:
    """Rectified on time ÷ tickets whose first deadline has passed; None when none has."""
    return round(on_time / due, 4) if due > 0 else None


def deadline_passed(first_deadline: date | None, day: date) -> bool:
    """On `day`, has the deadline set at assignment passed (is it due for the on-time rate)?"""
    return first_deadline is not None and first_deadline < day


def rectified_on_time(completed_on: date, first_deadline: date | None) -> bool:
    """Was a rectification completed on or before the deadline set at assignment?"""
    return first_deadline is not None and completed_on <= first_deadline


def ranked(rows: list[dict], tiebreak: Callable[[dict], str]) -> list[dict]:
    """The rows by closure rate, highest first (equal rates in `tiebreak` order), each given its
    competition `rank`; rows without a rate (nothing found) last, with rank None."""
    rated = sorted((r for r in rows if r["closure_rate"] is not None),
                   key=lambda r: (-r["closure_rate"], tiebreak(r)))
    for row in rated:
        row["rank"] = 1 + sum(other["closure_rate"] > row["closure_rate"] for other in rated)
    unrated = sorted((r for r in rows if r["closure_rate"] is None), key=tiebreak)
    for row in unrated:
        row["rank"] = None
    return rated + unrated


def closes_as_well_as(row: dict, county: dict) -> bool:
    """A town or department that has closed something, at a rate no lower than the county's
    (what a bulletin's 表扬 asks, with its rank)."""
    return bool(row["closure_rate"]) and row["closure_rate"] >= (county.get("closure_rate") or 0)
