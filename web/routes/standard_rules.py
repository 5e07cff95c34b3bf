"""评估标准 (#14): every indicator's threshold as the county judges by it now, beside the national
value, with its source and how far it is confirmed; the provincial overlay the office turns on,
and the values it corrects (each with a reason and a source, every year judged again). The
office changes; the auditor reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from domain.errors import DomainError
from domain.rule_book import LEVEL_CHOICES, looser
from domain.standard import LEVEL_LABELS, UNITS_ZH, overlays, rules
from domain.values import Role
from projections.queries import open_by_indicator
from web.deps import App, PostedForm, ReadDb, allow
from web.errors import status_of
from web.routes.standard import READERS
from web.templating import flash, render
from web.users import User

router = APIRouter()
Office = Annotated[User, Depends(allow(Role.OFFICE))]
Reader = Annotated[User, Depends(allow(*READERS))]
CONFIDENCE = {"high": "高（原文转载且有佐证）", "medium": "中（二手资料佐证）", "low": "低（未证实）"}
COMPARATORS = {"ge": "≥", "le": "≤", "eq": "="}


@router.get("/standard/rules")
def rules_page(request: Request, app: App, user: Reader):
    return _page(request, app, user)


def _page(request: Request, app, user: User, *, problem: str = "",
          status_code: int = 200) -> Response:
    book = app.rule_book()
    in_force = book.table()
    names = {i: r.name_zh for i, r in rules().items()}
    return render(request, "standard_rules.html", {
        "national": rules(), "in_force": in_force, "book": book, "names": names,
        "overlays": overlays(), "levels": LEVEL_CHOICES, "parts": LEVEL_LABELS,
        "confidence": CONFIDENCE, "comparators": COMPARATORS, "problem": problem,
        "units": UNITS_ZH,
        "correctable": [r for r in rules().values() if r.unit != "boolean"],
        "may_change": user.has(Role.OFFICE)}, status_code=status_code)


def _texts(form) -> dict[str, str]:
    return {k: v if isinstance(v, str) else "" for k, v in form.items()}


@router.post("/standard/rules/correct")
def correct_rule(request: Request, app: App, db: ReadDb, user: Office, form: PostedForm):
    """A threshold corrected: recorded with its reason and source; every year judged again."""
    text = _texts(form)
    try:
        years = app.correct_rule(user.login, text.get("indicator", ""), text.get("level", ""),
                                 text.get("value", ""), reason=text.get("reason", ""),
                                 source=text.get("source", ""),
                                 candidates=open_by_indicator(db))
    except DomainError as error:
        return _page(request, app, user, problem=error.message, status_code=status_of(error))
    flash(request, f"已更正标准，重新评估了 {len(years)} 个学年" if years else "已更正标准")
    if looser(text["indicator"], text["level"], float(text["value"])):
        flash(request, "注意：更正后的数值低于国家标准的要求，请确认依据")
    return RedirectResponse("/standard/rules", status_code=303)


@router.post("/standard/rules/overlay")
def set_overlay(request: Request, app: App, db: ReadDb, user: Office, form: PostedForm):
    """A provincial overlay turned on or off; every year judged again."""
    text = _texts(form)
    try:
        app.set_overlay(user.login, text.get("name", ""), text.get("on") == "1",
                        reason=text.get("reason", ""), candidates=open_by_indicator(db))
    except DomainError as error:
        return _page(request, app, user, problem=error.message, status_code=status_of(error))
    flash(request, "已启用地方标准" if text.get("on") == "1" else "已停用地方标准")
    return RedirectResponse("/standard/rules", status_code=303)
