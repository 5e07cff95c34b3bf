"""The README's table of the standard's rules says what the data files say (#14): each
indicator's threshold, how it is judged, its confidence and its sources. A value corrected in
`domain/data/indicators.yaml` without the README fails here."""

from __future__ import annotations

from pathlib import Path

import yaml

from domain.checklist import DECIDED_BY_FIGURES, ITEMS
from domain.standard import DATA, LEVEL_LABELS, rules

README = Path(__file__).resolve().parents[1] / "README.md"
COMPARATORS = {"ge": "≥", "le": "≤", "eq": "="}
CONFIDENCE = {"high": "高", "medium": "中", "low": "低"}


def expected_rows() -> list[str]:
    confirmed = {row["id"]: row.get("confirmed_by", []) for row in
                 yaml.safe_load((DATA / "indicators.yaml").read_text(encoding="utf-8"))}
    rows = []
    for r in rules().values():
        limits = "；".join(f"{LEVEL_LABELS.get(k, '')}{COMPARATORS[r.comparator]} {v:g}"
                          for k, v in r.thresholds.items())
        judged = ("figures" if r.category == "resource" or r.id in DECIDED_BY_FIGURES
                  else "value" if ITEMS[r.id].valued else "mark")
        confidence = CONFIDENCE[r.confidence] + ("，未证实" if r.unconfirmed else "")
        rows.append(f"| {r.seq} | {r.name_zh} | {limits} | {judged} | {confidence} | "
                    f"{', '.join(confirmed[r.id]) or '—'} |")
    return rows


def test_the_readme_states_each_rule_as_the_data_file_does():
    text = README.read_text(encoding="utf-8")
    missing = [row for row in expected_rows() if row not in text]
    assert not missing, "README's rules table differs from the data file:\n" + "\n".join(missing)


if __name__ == "__main__":      # prints the table, to paste into the README
    print("\n".join(expected_rows()))
