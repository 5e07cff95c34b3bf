"""Build the county's directory from the seed file: units, heads, leaders and 包保."""

from __future__ import annotations

import zlib
from datetime import date
from pathlib import Path

import yaml

from domain.application import SYSTEM, XiaohaoApp

SEED_FILE = Path(__file__).parent / "seed" / "county.yaml"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["建国", "海燕", "志强", "秀英", "立新", "晓东", "红梅", "振华", "玉兰", "明亮",
         "桂芳", "宏伟", "春生", "丽娟", "国庆", "文静", "保东", "雪梅", "庆华", "永刚"]


def seed() -> dict:
    return yaml.safe_load(SEED_FILE.read_text(encoding="utf-8"))


def invented_name(index: int) -> str:
    """A plausible, deterministic name for a person the circular does not name."""
    return SURNAMES[(index * 7) % len(SURNAMES)] + GIVEN[(index * 3) % len(GIVEN)]


def school_code(town_code: str, level: str, index: int) -> str:
    return f"{town_code}-{'J' if level == 'junior' else 'P'}{index:02d}"


def build_directory(app: XiaohaoApp, data: dict | None = None) -> None:
    """Seed an empty directory: the county, its bodies, towns, schools, heads and 包保."""
    data = data or seed()
    on = data["effective"] if isinstance(data["effective"], date) else date.fromisoformat(
        data["effective"])
    county = data["county"]["code"]
    app.start_directory(data["county"]["name"])

    def unit_with_head(code: str, name: str, kind: str, parent: str, head: str, title: str,
                       level: str | None = None) -> None:
        app.add_unit(SYSTEM, code=code, name=name, kind=kind, parent=parent, level=level)
        person = f"H-{code}"
        app.register_person(SYSTEM, person_id=person, name=head, title=title, unit_id=code,
                            email=f"{code.lower()}@sishui.example.cn",
                            phone=f"0537-42{zlib.crc32(code.encode()) % 100000:05d}")
        app.appoint_head(SYSTEM, unit_id=code, person_id=person, on=on)

    for dept in data["departments"]:
        unit_with_head(dept["code"], dept["name"], "department", county, dept["head"],
                       dept["title"])
    invented = 0
    for town in data["towns"]:
        unit_with_head(town["code"], town["name"], "town", county, town["head"], town["title"])
        for level in ("junior", "primary"):
            for i, name in enumerate(town[level], start=1):
                invented += 1
                title = "校长"
                unit_with_head(school_code(town["code"], level, i), name, "school",
                               town["code"], invented_name(invented), title, level)
    for leader in data["leaders"]:
        app.register_person(SYSTEM, person_id=leader["id"], name=leader["name"],
                            title=leader["title"], unit_id=county,
                            email=f"{leader['id'].lower()}@sishui.example.cn")
        for town in leader["towns"]:
            app.assign_baobao(SYSTEM, leader_id=leader["id"], unit_id=town, on=on)
