"""JSON API: a 学年's 自评报告 (#14), as /standard shows it to the office and the auditor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from web.api_models import Standard
from web.deps import App, api_allow
from web.openapi import ALWAYS, problems
from web.readiness import readiness
from web.routes.standard import READERS, school_year
from web.users import User

router = APIRouter(prefix="/api/v1", tags=["standard"], responses=problems(*ALWAYS))
Reader = Annotated[User, Depends(api_allow(*READERS))]


@router.get("/standard", operation_id="api_standard", summary="达标评估（自评报告）",
            responses=problems(400),
            description="一个学年的评估结论、未达标项及其问题编号、超标的差异系数、评估项目和历次评估记录。"
                        "创建办和审计可读。")
def api_standard(app: App, user: Reader,
                 year: Annotated[str, Query(description="学年，默认本学年",
                                            examples=["2018-2019"])] = "") -> Standard:
    r = readiness(app, school_year(app, year))
    return Standard(
        year=r.year, label=r.label, verdict=r.verdict.as_dict(), cvs=r.cvs,
        shortfalls=[{k: v for k, v in s.items() if k not in ("school", "order")}
                    for s in r.shortfalls],
        checklist=[{"id": x["item"].id, "group": group, "label": x["item"].label,
                    "mark": x["mark"], "value": x["entry"].get("value"),
                    "evidence": x["entry"].get("evidence", ""), "note": x["entry"].get("note", ""),
                    "ticket": x["ticket"]} for group, items in r.checklist.items() for x in items],
        judgements=[{"at": j["at"], "cause": j["cause"], "county": j["verdict"]["county"],
                     "failing": len(j["failing"]), "opened": j["opened"], "adopted": j["adopted"],
                     "met": j["met"], "rules": j["rules"]} for j in r.figures.judgements])
