"""How towns and departments are compared in a 周通报: the cumulative closure rate, and the
competition ranking on it (equal rates share a rank, the next rank skips: 1, 2, 2, 4)."""

from __future__ import annotations

from collections.abc import Callable


def closure_rate(closed: int, found: int) -> float:
    """Closed ÷ found (each net of reopened and cancelled), to four places; 0 when none found."""
    return round(closed / found, 4) if found else 0.0


def ranked(rows: list[dict], tiebreak: Callable[[dict], str]) -> list[dict]:
    """The rows by closure rate, highest first (equal rates in `tiebreak` order), each given its
    competition `rank`."""
    ordered = sorted(rows, key=lambda r: (-r["closure_rate"], tiebreak(r)))
    for row in ordered:
        row["rank"] = 1 + sum(other["closure_rate"] > row["closure_rate"] for other in ordered)
    return ordered
