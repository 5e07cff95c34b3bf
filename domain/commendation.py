"""表扬 and 批评 (the plan's 奖惩问责) as a bulletin's draft proposes them, for the office to
edit before 签发: praise for the towns ranked first (and the first department) that close at
least as well as the county and have nothing overdue, criticism for every town and department
with overdue items, the most first. Read from the bulletin's own figures, so the proposal says
what the 通报 says."""

from __future__ import annotations

from domain.ranking import closes_as_well_as

PRAISED_TOWNS = 3          # the towns at the top of the ranking a draft praises
CRITICISED = 8             # the places with the most overdue items a draft criticises
CLOSING = ("请各镇街、各有关部门对照问题清单，落实包保责任，逐项整改销号；逾期问题的责任单位"
           "须于下周一前书面说明原因并提出整改时限。")


def _rate(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def propose(content: dict) -> dict:
    """The draft's 表扬, 批评 and closing paragraph from a bulletin's content (its towns and
    departments with their ranks, and its overdue items with their days)."""
    praise = [f"{r['name']}：累计销号率 {_rate(r['closure_rate'])}，位列{kind}第 {r['rank']} 名，"
              "无逾期未整改问题，予以通报表扬。"
              for rows, kind, most in ((content["towns"], "全县镇街", PRAISED_TOWNS),
                                       (content["departments"], "县直部门", 1))
              for r in rows if r["rank"] and r["rank"] <= most and not r["overdue"]
              and closes_as_well_as(r, content["totals"])]
    longest = _longest_overdue(content["overdue"])
    late = sorted((r for r in content["towns"] + content["departments"] if r["overdue"]),
                  key=lambda r: (-r["overdue"], r["name"]))
    criticism = [f"{r['name']}：逾期未整改问题 {r['overdue']} 项"
                 + (f"，最长逾期 {days} 天" if (days := longest.get(_place(r))) else "")
                 + "，予以通报批评。"
                 for r in late[:CRITICISED]]
    return {"praise": praise, "criticism": criticism, "closing": CLOSING}


def _place(row: dict) -> str:
    return row.get("town_id") or row.get("unit_id") or ""


def _longest_overdue(items: list[dict]) -> dict[str, int]:
    """The most days overdue among each town's and lead department's items."""
    longest: dict[str, int] = {}
    for i in items:
        for place in {i.get("town_id"), i.get("lead_unit_id")} - {None, ""}:
            longest[place] = max(longest.get(place, 0), i["days_overdue"])
    return longest
