"""When a rectification's photo deserves a second look: taken (by its own EXIF) before the
problem was found, or farther from the school than the county allows, when the directory knows
where the school is. Such photos are flagged to the inspector and in the record, never refused:
a camera's clock can be wrong, and a fix can be photographed at a supplier's."""

from __future__ import annotations

import math
from datetime import date

EARTH_RADIUS_M = 6_371_000


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points, in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def photo_flags(evidence: list[dict], found_on: date, place: tuple[float, float] | None,
                max_distance_m: int) -> list[dict]:
    """One flag per doubt about each file: {"sha256", "name", "reason"} (the reason in Chinese)."""
    flags = []
    for item in evidence:
        taken = item.get("taken_at")
        if taken and taken[:10] < found_on.isoformat():
            flags.append(_flag(item, f"拍摄时间 {taken[:16]} 早于发现问题的日期 {found_on}"))
        gps = item.get("gps")
        if gps and place:
            away = distance_m(tuple(gps), tuple(place))
            if away > max_distance_m:
                flags.append(_flag(item, f"拍摄地点距学校约 {distance_text(away)}，"
                                         f"超过 {distance_text(max_distance_m)}"))
    return flags


def _flag(item: dict, reason: str) -> dict:
    return {"sha256": item["sha256"], "name": item["name"], "reason": reason}


def distance_text(metres: float) -> str:
    """A distance as a Chinese reader says it: 800 米, 1 公里, 1.5 公里."""
    if metres < 1000:
        return f"{round(metres)} 米"
    return f"{metres / 1000:.1f}".removesuffix(".0") + " 公里"
