"""The indicators of 教督〔2017〕6号, read from the data file the office can correct."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from domain.errors import UnknownReferenceError

DATA_FILE = Path(__file__).parent / "data" / "indicators.yaml"


@dataclass(frozen=True)
class Indicator:
    id: str
    seq: str
    category: str
    name_zh: str


@cache
def indicators(path: Path = DATA_FILE) -> dict[str, Indicator]:
    """All indicators by id, in the standard's order."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        row["id"]: Indicator(row["id"], str(row["seq"]), row["category"], row["name_zh"])
        for row in rows
    }


def require_indicator(indicator_id: str) -> Indicator:
    """The indicator with this id, or a named error."""
    try:
        return indicators()[indicator_id]
    except KeyError:
        raise UnknownReferenceError(f"未知的评估指标：{indicator_id}") from None
