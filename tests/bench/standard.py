"""standard: importing and judging a 学年's workbook of N schools (about one shortfall per
school), against openpyxl alone loading the same workbook; and judging everything again after a
rule correction, against that import. Both in the same run, on an SQLite event store.

Size: `--tickets N` is the number of schools (default 1,000: the issue's). Setup (the
directory of N schools in 20 towns, the filled workbook) is not timed.

Each of ROUNDS rounds starts from a copy of the same store (directory only), then times, the
order of the first two alternating:
- baseline: `openpyxl.load_workbook` of the workbook, its default mode;
- import: the workbook read by the product's reader and `import_figures` (rows checked and
  recorded, the year judged, every shortfall's ticket opened, all saved at once); read models'
  catch-up not timed;
- correction: `correct_rule` lowering R4's primary threshold (every year judged again, the
  shortfalls it resolves recorded as rectified by the system).

import ratio = median over rounds of import_s / baseline_s, target ≤ 2.5;
correction ratio = median of correction_s / import_s, target ≤ 0.5. `ratio` is the first.
"""

from __future__ import annotations

import hashlib
import io
import random
import shutil
import tempfile
from pathlib import Path
from time import perf_counter

from openpyxl import load_workbook

from domain.application import SYSTEM
from tests.bench.common import median, verdict
from xiaohao.adapters.figures_workbook import SHEET, read, template

IMPORT_TARGET, CORRECTION_TARGET = 2.5, 0.5
ROUNDS = 5
TOWNS = 20
YEAR = 2019
# Figures every school of its 学段 meets comfortably, per pupil (per 100 for the teachers).
GOOD = {"primary": {"teachers_above_qual": 5.0, "backbone_teachers": 1.3, "pe_art_teachers": 1.1,
                    "teaching_aux_area": 5.4, "sports_area": 9.0, "equipment_value": 2600,
                    "multimedia_classrooms": 2.8},
        "junior": {"teachers_above_qual": 6.4, "backbone_teachers": 1.3, "pe_art_teachers": 1.1,
                   "teaching_aux_area": 7.0, "sports_area": 12.2, "equipment_value": 3100,
                   "multimedia_classrooms": 2.9}}
PER_100 = ("teachers_above_qual", "backbone_teachers", "pe_art_teachers",
           "multimedia_classrooms")


def county(app, schools: int) -> None:
    """N schools in 20 towns: three in four primary, the rest junior or nine-year."""
    app.start_directory("基准县")
    for t in range(1, TOWNS + 1):
        app.add_unit(SYSTEM, code=f"T{t:02}", name=f"第{t}镇", kind="town", parent="SS")
    for i in range(schools):
        level = "primary" if i % 4 else ("junior" if i % 8 else "nine_year")
        app.add_unit(SYSTEM, code=f"S{i:04}", name=f"第{i}学校", kind="school",
                     parent=f"T{i % TOWNS + 1:02}", level=level)
    app.register_account(SYSTEM, login="office", name="创建办", roles=["office"], unit_id="SS",
                         password_hash=app.hash_password("bench-password"))


def row_figures(part: str, rng: random.Random) -> dict:
    """A plausible row; most rows short of one indicator, some of two, some of none (each
    short one at 72–96% of its threshold: GOOD is about 1.2 times the thresholds)."""
    pupils = rng.randint(300, 1500)
    classes = max(1, round(pupils / (42 if part == "primary" else 47)))
    per = dict(GOOD[part])
    for name in rng.sample(sorted(per), rng.choice([0, 1, 1, 1, 2])):
        per[name] *= rng.uniform(0.6, 0.8)
    figures = {"enrolment": pupils, "classes": classes, "classes_over_limit": 0,
               "largest_class": 44 if part == "primary" else 49}
    for name, value in per.items():
        amount = value * pupils / (100 if name in PER_100 else 1)
        figures[name] = round(amount) if name in PER_100 else round(amount, 1)
    rooms = -(-classes // 12)
    figures |= {"music_rooms": rooms, "music_room_area": 100, "art_rooms": rooms,
                "art_room_area": 95}
    return figures


def workbook(app, seed: int = 7) -> bytes:
    from domain.school_figures import FIGURES
    schools = [u for u in app.directory().units.values() if u["kind"] == "school"]
    book = load_workbook(io.BytesIO(template(schools, f"{YEAR}学年学校数据")))
    sheet, rng = book[SHEET], random.Random(seed)
    parts = {"小学": "primary", "初中": "junior"}
    for row in sheet.iter_rows(min_row=3):
        values = row_figures(parts[row[2].value], rng)
        for i, figure in enumerate(FIGURES, start=3):
            row[i].value = values[figure.name]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(tickets: int) -> dict:
    from tests.conftest import settings_for

    schools = tickets or 1000
    with tempfile.TemporaryDirectory(prefix="xiaohao-bench-") as tmp:
        base = Path(tmp) / "base"
        settings = settings_for("sqlite", base)
        app = settings.build_app()
        started = perf_counter()
        county(app, schools)
        data = workbook(app)
        app.close()
        setup_s = perf_counter() - started
        sha = hashlib.sha256(data).hexdigest()
        rounds = []
        for i in range(ROUNDS):
            here = Path(tmp) / f"round{i}"
            shutil.copytree(base, here)
            app = settings_for("sqlite", here).build_app()
            app.directory()
            times = {}
            for name in (["baseline", "import"] if i % 2 == 0 else ["import", "baseline"]):
                t = perf_counter()
                if name == "baseline":
                    load_workbook(io.BytesIO(data)).close()
                else:
                    assert app.import_figures("office", YEAR, read(data), sha256=sha,
                                              file_name="学校数据.xlsx")
                times[name] = perf_counter() - t
            t = perf_counter()
            app.correct_rule("office", "res_teaching_aux_area", "primary", 4.2,
                             reason="基准", source="基准")
            times["correction"] = perf_counter() - t
            figures = app.judgement(YEAR)[1]
            times["opened"] = figures.judgements[0]["opened"]
            times["met"] = figures.judgements[-1]["met"]
            rounds.append(times)
            app.close()
    import_ratio = median([r["import"] / r["baseline"] for r in rounds])
    correction_ratio = median([r["correction"] / r["import"] for r in rounds])
    passed = import_ratio <= IMPORT_TARGET and correction_ratio <= CORRECTION_TARGET
    return verdict(
        "standard", import_ratio, IMPORT_TARGET, passed,
        ratio_of="median over rounds of import_s / openpyxl_load_s (lower is better)",
        correction={"ratio": round(correction_ratio, 3), "target": CORRECTION_TARGET,
                    "pass": correction_ratio <= CORRECTION_TARGET,
                    "ratio_of": "median of correction_s / import_s"},
        schools=schools, rows=len(read(data)), tickets_opened=rounds[0]["opened"],
        met_after_correction=rounds[0]["met"], setup_s=round(setup_s, 1),
        seconds={k: [round(r[k], 3) for r in rounds] for k in ("baseline", "import",
                                                                "correction")})
