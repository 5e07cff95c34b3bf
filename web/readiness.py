"""The 自评报告 as one set of plain rows (#14): the verdict, each shortfall with its school, town,
gap, what it would take and its ticket, the towns' needs, the failing CVs with the schools that
move them most, the checklist and what changed since the year was last judged. The page, the
Excel report and the API all read it from here."""

from __future__ import annotations

from dataclasses import dataclass

from domain.application import XiaohaoApp
from domain.assessing import Judgement
from domain.checklist import GROUPS, ITEMS, MARKS, mark_of
from domain.evaluation import COUNTY
from domain.readiness import Change, TownNeeds, by_town, cv_movers, failing_cvs, since_last_import
from domain.school_year import SchoolYearFigures, year_label
from domain.standard import CV_RULES, LEVEL_LABELS, RESOURCES, plain_number

COUNTY_NAME = "全县"
# R1–R7 as a table's narrow heading says them (the full name in its title).
SHORT_NAMES = dict(zip(RESOURCES, ("高学历教师", "骨干教师", "音体美教师", "教学辅助用房",
                                   "体育场馆", "仪器设备", "多媒体教室"), strict=True))


def indicator_label(indicator: str, table) -> str:
    """An indicator of a shortfall as a report names it."""
    if ":" in indicator:                      # a CV: "res_cv_primary:<resource>"
        resource = indicator.split(":")[1]
        return f"{table[resource].seq} {table[resource].name_zh}校际差异系数"
    if indicator in ITEMS:
        return f"{ITEMS[indicator].seq} {ITEMS[indicator].label}"
    return f"{table[indicator].seq} {table[indicator].name_zh}"


def needs_text(needs: dict[tuple[str, str], float]) -> str:
    """"教学及辅助用房面积 740㎡；超过班额的班级 3 个"."""
    return "；".join(f"{needed} {plain_number(n, 1)}{'' if unit in ('㎡', '元') else ' '}{unit}"
                    for (needed, unit), n in sorted(needs.items()))


@dataclass(frozen=True)
class Readiness:
    year: int
    label: str
    judged: Judgement
    figures: SchoolYearFigures
    shortfalls: list[dict]
    towns: list[TownNeeds]
    cvs: list[dict]
    checklist: dict[str, list[dict]]      # group label -> items
    change: Change | None
    names: dict[str, str]

    @property
    def verdict(self):
        return self.judged.verdict

    def shortfalls_by_town(self) -> list[tuple[str, list[dict]]]:
        """The shortfalls a town at a time (一镇一册), the county's own last."""
        towns: dict[str, list[dict]] = {}
        for s in self.shortfalls:
            towns.setdefault(s["town"], []).append(s)
        return list(towns.items())


def readiness(app: XiaohaoApp, year: int) -> Readiness:
    judged, figures = app.judgement(year)
    directory = app.directory()
    names = {code: u["name"] for code, u in directory.units.items()}
    town_of = {code: directory.town_of(code) for code, u in directory.units.items()
               if u["kind"] == "school"}
    table = judged.table
    shortfalls = []
    for key, f in judged.shortfalls.items():
        town = None if f.subject == COUNTY else town_of.get(f.subject)
        shortfalls.append({
            "key": key, "subject": COUNTY_NAME if f.subject == COUNTY else names[f.subject],
            "town": names.get(town, COUNTY_NAME) if town else COUNTY_NAME,
            "part": LEVEL_LABELS.get(f.part, ""), "indicator": indicator_label(f.indicator, table),
            "gap": f.gap, "need": needs_text({(f.needed, f.unit): f.need}) if f.need else "",
            "ticket": figures.shortfalls.get(key), "school": f.subject,
            "order": (town is None, town or "", f.subject, key)})
    shortfalls.sort(key=lambda s: s["order"])      # town by town, as the directory lists them
    towns = by_town(judged.evaluation, judged.shortfalls.values(), town_of)
    cvs = [{"part": LEVEL_LABELS[part], "indicator": indicator_label(indicator, table),
            "value": value, "limit": limit,
            "ticket": figures.shortfalls.get(f"{COUNTY}|{part}|{CV_RULES[part]}:{indicator}"),
            "movers": [{"school": names[m.school], "value": m.value, "cv_after": m.cv_after}
                       for m in cv_movers(judged.evaluation, part, indicator, table,
                                          weighted=app.cv_weighted)]}
           for part, indicator, value, limit in failing_cvs(judged.evaluation, table)]
    checklist: dict[str, list[dict]] = {}
    for item in ITEMS.values():
        entry = figures.checklist.get(item.id)
        mark = mark_of(item, entry, table)
        checklist.setdefault(GROUPS[item.group], []).append({
            "item": item, "entry": entry or {}, "mark": mark, "mark_label": item.marks[mark],
            "threshold": (plain_number(table[item.id].threshold("all")) if item.valued else ""),
            "value": ("" if not entry or entry.get("value") is None
                      else plain_number(entry["value"])),
            "ticket": figures.shortfalls.get(f"{COUNTY}|all|{item.id}")})
    return Readiness(judged.year, year_label(judged.year), judged, figures, shortfalls,
                     towns, cvs, checklist, since_last_import(figures.judgements), names)


def report_sheets(r: Readiness) -> list[tuple[str, list[str], list[list]]]:
    """The 自评报告's sheets: 结论, 未达标项, 各镇汇总, 差异系数, 评估项目."""
    v = r.verdict
    verdict_rows = [[GROUPS[g], MARKS[m]] for g, m in v.groups.items()]
    verdict_rows += [[f"资源配置（{LEVEL_LABELS[p]}）", MARKS[m]] for p, m in v.parts.items()]
    verdict_rows.append(["全县结论", MARKS[v.county]])
    if v.unassessed:
        verdict_rows.append(["尚未评估的项目", f"{v.unassessed} 项"])
    shortfalls = [[i, s["town"], s["subject"], s["part"], s["indicator"], s["gap"], s["need"],
                   s["ticket"] or ""] for i, s in enumerate(r.shortfalls, start=1)]
    towns = [[r.names.get(t.town, COUNTY_NAME) if t.town else COUNTY_NAME, t.schools,
              t.failing_schools, t.shortfalls,
              needs_text(t.needs)] for t in r.towns]
    failing = {(c["part"], c["indicator"]): c for c in r.cvs}
    cvs = []
    for (part, resource), value in r.judged.evaluation.cvs.items():
        limit = r.judged.table[CV_RULES[part]].threshold(part)
        label = indicator_label(f"{CV_RULES[part]}:{resource}", r.judged.table)
        c = failing.get((LEVEL_LABELS[part], label))
        cvs.append([LEVEL_LABELS[part], label, round(value, 3) if value is not None else "—",
                    limit, "超标" if c else "达标" if value is not None else "不足两所学校",
                    "；".join(f"{m['school']}（提高到标准后 {m['cv_after']:.3f}）"
                             for m in c["movers"]) if c else "", (c or {}).get("ticket") or ""])
    items = [[group, x["item"].seq, x["item"].label, x["mark_label"],
              x["entry"].get("value") if x["entry"].get("value") is not None else "",
              x["item"].unit(), x["entry"].get("evidence", ""), x["entry"].get("note", ""),
              x["ticket"] or ""] for group, entries in r.checklist.items() for x in entries]
    return [("结论", ["方面", "结论"], verdict_rows),
            ("未达标项", ["序号", "镇街", "学校", "学段", "指标", "差距", "达标需要", "问题编号"],
             shortfalls),
            ("各镇汇总", ["镇街", "学校数", "未达每校要求的学校", "未达标项", "达标需要（合计）"], towns),
            ("差异系数", ["学段", "指标", "差异系数", "标准（不大于）", "结论", "提高后影响最大的学校",
                      "问题编号"], cvs),
            ("评估项目", ["方面", "序号", "项目", "结论", "数值", "单位", "佐证材料", "说明", "问题编号"],
             items)]
