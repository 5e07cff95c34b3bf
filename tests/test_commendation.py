"""What a bulletin's draft proposes to praise and criticise (domain/commendation.py, #15)."""

from __future__ import annotations

from domain.commendation import CRITICISED, propose


def town(code: str, rank: int | None, rate: float | None, overdue: int = 0) -> dict:
    return {"town_id": code, "name": f"{code}镇", "rank": rank, "closure_rate": rate,
            "overdue": overdue}


def content(towns: list[dict], departments: list[dict] = (), overdue: list[dict] = (),
            county_rate: float = 0.5) -> dict:
    return {"totals": {"closure_rate": county_rate}, "towns": towns,
            "departments": list(departments), "overdue": list(overdue)}


def test_praise_goes_to_the_top_three_closing_as_well_as_the_county_with_nothing_overdue():
    proposed = propose(content([
        town("A", 1, 0.9, overdue=1),          # first, but something is overdue
        town("B", 2, 0.8), town("C", 3, 0.6), town("D", 4, 0.7), town("E", None, None)],
        departments=[{"unit_id": "D1", "name": "县财政局", "rank": 1, "closure_rate": 0.0,
                      "overdue": 0}]))          # first of the departments, having closed nothing
    assert proposed["praise"] == [
        "B镇：累计销号率 80.0%，位列全县镇街第 2 名，无逾期未整改问题，予以通报表扬。",
        "C镇：累计销号率 60.0%，位列全县镇街第 3 名，无逾期未整改问题，予以通报表扬。"]
    assert propose(content([town("B", 1, 0.4)], county_rate=0.5))["praise"] == []


def test_criticism_names_every_place_with_overdue_items_the_most_first_with_the_longest():
    towns = [town(f"T{i:02d}", i, 0.1, overdue=i % 4) for i in range(1, 13)]
    items = [{"town_id": "T03", "lead_unit_id": "T03-P01", "days_overdue": 12},
             {"town_id": "T03", "lead_unit_id": "D1", "days_overdue": 30},
             {"town_id": None, "lead_unit_id": "D1", "days_overdue": 5}]
    departments = [{"unit_id": "D1", "name": "县财政局", "rank": None, "closure_rate": None,
                    "overdue": 2}]
    criticism = propose(content(towns, departments, items))["criticism"]
    assert len(criticism) == CRITICISED
    assert criticism[0] == "T03镇：逾期未整改问题 3 项，最长逾期 30 天，予以通报批评。"
    assert [c.split("：")[0] for c in criticism[1:4]] == ["T07镇", "T11镇", "T02镇"]
    assert "县财政局：逾期未整改问题 2 项，最长逾期 30 天" in "".join(criticism)
    assert propose(content([town("A", 1, 1.0)]))["criticism"] == []
