"""How far a county is from passing (#14, 自评报告): what it would take per town (the smallest
additions the shortfalls name, added up), which schools move a failing CV most, and what changed
since the year was last judged. Pure: a judgement in (domain/assessing.py), plain data out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from domain.evaluation import COUNTY, Evaluation
from domain.standard import CV_RULES, Table, cv

MOVERS = 5      # schools named per failing CV


@dataclass
class TownNeeds:
    """One town's part of the gap."""

    town: str | None                      # None: the county's own items
    schools: int = 0
    failing_schools: int = 0              # schools missing the per-school rule
    shortfalls: int = 0
    needs: dict[tuple[str, str], float] = field(default_factory=dict)   # (needed, unit) -> sum


def by_town(judged: Evaluation, shortfalls: Sequence, town_of: Mapping[str, str | None]
            ) -> list[TownNeeds]:
    """Each town's schools, failing schools, shortfalls and the additions they need, towns
    with the most shortfalls first; the county's own items last."""
    towns: dict[str | None, TownNeeds] = {}

    def town(code: str) -> TownNeeds:
        name = None if code == COUNTY else town_of.get(code)
        return towns.setdefault(name, TownNeeds(name))

    for (code, _), school in judged.schools.items():
        entry = town(code)
        entry.schools += 1
        entry.failing_schools += not school["verdict"].passes
    for f in shortfalls:
        entry = town(f.subject)
        entry.shortfalls += 1
        if f.need is not None:
            key = (f.needed, f.unit)
            entry.needs[key] = entry.needs.get(key, 0) + f.need
    return sorted(towns.values(), key=lambda t: (t.town is None, -t.shortfalls, t.town or ""))


@dataclass(frozen=True)
class Mover:
    school: str
    value: float          # the school's figure now
    cv_after: float       # the CV with this school raised to the threshold


def cv_movers(judged: Evaluation, part: str, indicator: str, table: Table, *,
              weighted: bool, top: int = MOVERS) -> list[Mover]:
    """The schools whose raising to the threshold would lower the CV most (those below it)."""
    mine = [(code, s) for (code, p), s in judged.schools.items() if p == part]
    limit = table[indicator].threshold(part)
    pairs = [(s["enrolment"], s["values"][indicator]) for _, s in mine]
    movers = []
    for i, (code, s) in enumerate(mine):
        value = s["values"][indicator]
        if value >= limit:
            continue
        raised = pairs[:i] + [(s["enrolment"], limit)] + pairs[i + 1:]
        after = cv(raised, weighted=weighted)
        if after is not None:
            movers.append(Mover(code, value, after))
    return sorted(movers, key=lambda m: m.cv_after)[:top]


def failing_cvs(judged: Evaluation, table: Table) -> list[tuple[str, str, float, float]]:
    """(学段, indicator, CV, limit) of each CV over its limit."""
    found = []
    for (part, indicator), value in sorted(judged.cvs.items()):
        rule = table[CV_RULES[part]]
        if value is not None and not rule.meets(value, part):
            found.append((part, indicator, value, rule.threshold(part)))
    return found


@dataclass(frozen=True)
class Change:
    """What the latest judgement changed against the one before it."""

    since: str                           # when the judgement before the import was given
    verdicts: list[tuple[str, str, str]]  # (group, before, after) that differ
    new: list[str]                       # shortfall keys failing now, not then
    resolved: list[str]                  # failing then, not now


def since_last_import(judgements: Sequence[Mapping]) -> Change | None:
    """The year as judged now against how it stood just before its latest import (None until
    an import follows an earlier judgement)."""
    imports = [i for i, j in enumerate(judgements) if j.get("kind") == "import"]
    if not imports or imports[-1] == 0:
        return None
    before, after = judgements[imports[-1] - 1], judgements[-1]
    old, new = before["verdict"], after["verdict"]
    verdicts = [(g, old["groups"].get(g), v) for g, v in new["groups"].items()
                if old["groups"].get(g) != v]
    if old["county"] != new["county"]:
        verdicts.append(("county", old["county"], new["county"]))
    was, now = set(before["failing"]), set(after["failing"])
    return Change(before["at"], verdicts, sorted(now - was), sorted(was - now))
