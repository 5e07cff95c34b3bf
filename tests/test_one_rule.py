"""Each rule has one home and every surface follows it (#10). The regressions here are the
places where copies of a rule used to disagree; the last tests search the code for the pieces
of each rule outside its home, and hold the README's command table to the catalogue."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from domain.application import SYSTEM
from domain.commands import COMMANDS, OPEN
from domain.cycle import run_id
from domain.delivery import delivery_id
from projections.readmodels import ReadModels
from scheduler.runs import issue
from tests.conftest import START, assign_to_school_a, open_at_school_a, seed_small_county, settings_for
from tests.web_client import Browser, page
from xiaohao import wiring

REPO = Path(__file__).resolve().parent.parent


def light_of(response, number: str) -> str:
    row = next(tr for tr in page(response).select("tr") if number in tr.text)
    return next(c for c in row.select_one(".dot")["class"] if c.startswith("light-"))


def test_a_leader_finds_on_the_check_list_the_tickets_that_name_them(web_app, clock):
    """The check list looked only at where a ticket is, so a leader named on a ticket of
    another town never saw it there, though 问题清单 listed it."""
    web, app = web_app
    number = open_at_school_a(app, unit_id="TB-J01")
    app.assign(number, "office", lead_unit_id="TB-J01", leader_ids=["L1"],
               deadline=START + timedelta(days=30))
    clock.advance(days=7)          # the next Monday's list holds it
    leader_a = Browser(web, "leader_a")
    assert number in leader_a.get("/checks").text
    assert number in leader_a.get("/tickets").text
    assert number not in Browser(web, "leader_b").get("/checks?week=2026-W45").text


def test_a_school_baobao_is_not_widened_to_its_town_in_the_digests(memory_app, clock):
    """A leader who answers for one school heard of every school in its town in the daily
    escalation, while their pages showed that school alone."""
    app = memory_app
    app.add_unit(SYSTEM, code="TA-P02", name="甲镇二小", kind="school", parent="TA",
                 level="primary")
    app.register_person(SYSTEM, person_id="L3", name="孔领导", title="副县长", unit_id="SS")
    app.assign_baobao(SYSTEM, leader_id="L3", unit_id="TA-P01", on=START)
    mine = open_at_school_a(app)
    beside = open_at_school_a(app, unit_id="TA-P02")
    for number, school in ((mine, "TA-P01"), (beside, "TA-P02")):
        app.assign(number, "office", lead_unit_id=school, deadline=START + timedelta(days=1))
    clock.advance(days=3)
    day = (START + timedelta(days=3)).isoformat()
    issue(app, ReadModels(app, ":memory:"), "reminders", day, warn_days=3)

    def told(leader: str) -> set[str]:
        d = app.delivery(delivery_id(run_id("SS", "reminders", day), f"leader-{leader}"))
        return {i["number"] for i in d["payload"]["overdue"]}

    assert told("L3") == {mine}
    assert told("L1") == {mine, beside}        # the town's 包保 covers both schools


@pytest.fixture
def warn_five(tmp_path, clock):
    """The web app with XIAOHAO_WARN_DAYS=5, and a ticket due four days after next Monday."""
    settings = settings_for("sqlite", tmp_path, warn_days=5)
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    number = open_at_school_a(app)
    app.assign(number, "office", lead_unit_id="TA-P01", deadline=START + timedelta(days=11))
    clock.advance(days=7)
    web = wiring.web(settings, app=app, follow=False)
    with TestClient(web):
        yield web, number
    app.close()


def test_every_surface_shows_the_light_of_the_warn_days_setting(warn_five):
    """With five days' warning the ticket list showed yellow, but the check list (which
    counted three days in its SQL) and the Excel ledger (a constant of three) showed green."""
    web, number = warn_five
    office = Browser(web, "office")
    assert light_of(office.get("/tickets"), number) == "light-yellow"
    assert light_of(office.get("/checks"), number) == "light-yellow"
    response = office.get("/ledger/export?of=school&code=TA-P01&format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[2]]
    row = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if number in r)
    assert row[header.index("红黄绿灯")] == "黄灯"


def test_a_unit_answering_for_a_place_exports_its_ledger_with_only_its_own_rows(web_app):
    """Who may take a town's or a school's ledger follows the visibility rule too: the town
    shares school A's ticket, so it may take its own ledger and finds that ticket there."""
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)                       # TA shares it
    app.register_account(SYSTEM, login="town_a", name="甲镇", roles=["unit"], unit_id="TA",
                         password="town-a-password")
    town = Browser(web, "town_a", password="town-a-password")
    csv = town.get("/ledger/export?of=town&code=TA&format=csv")
    assert csv.status_code == 200 and number in csv.content.decode("utf-8-sig")
    assert town.get("/ledger/export?of=town&code=TB&format=csv").status_code == 403
    assert town.get("/ledger/export?of=county&format=csv").status_code == 403


# -- the command catalogue and the README --------------------------------------------------

def readme_commands() -> dict[str, tuple[str, set[str], set[str]]]:
    """The README's "who may do what" table: command -> (label, roles, states)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("| command | 操作 | roles | states |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.strip().splitlines()[1:]:
        name, label, roles, states = (cell.strip() for cell in line.strip("|").split("|"))
        rows[name.strip("`")] = (label, {r.strip() for r in roles.split(",")},
                                 {s.strip() for s in states.split(",")} - {"—"})
    return rows


def test_the_readme_table_is_the_catalogue():
    catalogue = {c.name: (c.label, {r.value for r in c.roles}, {s.value for s in c.states})
                 for c in (OPEN, *COMMANDS.values())}
    assert readme_commands() == catalogue


@pytest.mark.parametrize("login, offered", [
    ("office", ["reassign", "chase", "extend_deadline", "check_progress", "add_evidence",
                "comment", "cancel"]),
    ("insp", ["check_progress", "add_evidence", "comment"]),
    ("school_a", ["acknowledge", "rectify", "request_extension", "add_evidence", "comment"]),
    ("leader_a", ["give_instruction", "comment"]),
    ("school_b", []), ("leader_b", []),      # another school's, another town's
    ("audit", []),
])
def test_what_each_role_is_offered_on_an_assigned_ticket(memory_app, login, offered):
    """The catalogue's roles and states, the visibility rule, and no extension asked yet."""
    app = memory_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    assert app.allowed_commands(number, login) == offered


# -- one home per rule ---------------------------------------------------------------------

PACKAGES = ("domain", "projections", "scheduler", "web", "xiaohao")
# rule -> (its home, the pieces that must appear nowhere else)
PIECES = {
    "lights and state groups": ("domain/lights.py", [
        r"'opened',\s*'assigned'", r"'assigned',\s*'opened'", r"\"opened\",\s*\"assigned\"",
        r"THEN 'red'", r"[+-]\d+ days", r"timedelta\(days=warn_days\)", r"WARN_DAYS\s*="]),
    "periods": ("domain/periods.py", [
        r"isocalendar\(", r"-W\(", r"%Y-%m[}\"']", r"date\.fromisoformat\(f\""]),
    "ranking": ("domain/ranking.py", [r"1 \+ sum\(", r"closure_rate\"\] >"]),
    "visibility": ("domain/visibility.py", [
        r"ticket_units WHERE unit_id IN", r"baobao_scope\([^)]*\)\s*\|", r"\.scope\b"]),
    "commands": ("domain/commands.py", [
        r"\"已交办\"", r"\"已记录复查结论\"", r"\"交办意见\"", r"\"撤销理由\"", r"退回整改",
        r"检查情况", r"记录检查"]),
}


@pytest.mark.parametrize("rule", PIECES)
def test_a_rule_s_pieces_are_found_in_its_home_alone(rule):
    home, pieces = PIECES[rule]
    stray = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*")):
            if path.suffix not in (".py", ".html") or str(path.relative_to(REPO)) == home:
                continue
            text = path.read_text(encoding="utf-8")
            stray += [f"{path.relative_to(REPO)}: {p}" for p in pieces if re.search(p, text)]
    assert not stray, "\n".join(stray)
