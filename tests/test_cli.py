"""The `xiaohao` command as an operator or a script uses it: real processes, real SQLite files."""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
XIAOHAO = [sys.executable, "-c", "from xiaohao.cli import main; main()"]


@pytest.fixture
def run(tmp_path):
    env = os.environ | {"XIAOHAO_VAR_DIR": str(tmp_path / "var"), "XIAOHAO_STORE": "sqlite",
                        "XIAOHAO_ARGON2_TIME_COST": "1", "XIAOHAO_ARGON2_MEMORY_KIB": "8192"}

    def run(*args: str | bytes, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*XIAOHAO, *args], cwd=ROOT, env=env, capture_output=True,
                                timeout=120)
        result.out = result.stdout.decode()
        result.err = result.stderr.decode()
        if ok:
            assert result.returncode == 0, result.err
        return result

    run.env = env
    return run


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    """One demo build shared by the read-only demo tests."""
    var = tmp_path_factory.mktemp("demo") / "var"
    env = os.environ | {"XIAOHAO_VAR_DIR": str(var), "XIAOHAO_ARGON2_TIME_COST": "1",
                        "XIAOHAO_ARGON2_MEMORY_KIB": "8192"}
    done = subprocess.run([*XIAOHAO, "demo", "--reset"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return var, done.stdout


def test_a_script_takes_a_ticket_through_its_life(run, tmp_path):
    run("init", "--password", "office-pass-1")
    run("user", "add", "insp", "--name", "督查员", "--role", "inspector", "--password", "insp-pass-1",
        "--as", "office")
    photo = tmp_path / "现场.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 100)
    # The county root is the only unit after init; a ticket on it is county-wide.
    number = run("ticket", "open", "--as", "insp", "--title", "教师培训经费不足",
                 "--unit", "泗水县", "--category", "经费保障", "--severity", "较重",
                 "--evidence", str(photo)).out.strip()
    assert number.startswith("SS-") and number.endswith("-0001")
    run("user", "add", "county", "--name", "县里", "--role", "unit", "--unit", "SS",
        "--password", "unit-pass-1")
    run("ticket", "assign", number, "--as", "office", "--lead", "SS", "--deadline", "2099-12-31")
    run("ticket", "rectify", number, "--as", "county", "--measures", "已补足培训经费",
        "--evidence", str(photo))
    run("ticket", "reinspect", number, "--as", "insp", "--pass")
    run("ticket", "close", number, "--as", "office", "--note", "销号")
    shown = json.loads(run("ticket", "show", number, "--json").out)
    assert shown["ticket"]["state"] == "closed"
    assert [h["event"] for h in shown["history"]] == ["Opened", "Assigned", "Rectified",
                                                      "ReInspected", "Closed"]
    digest = shown["ticket"]["evidence_before"][0]["sha256"]
    assert (tmp_path / "var" / "evidence" / digest[:2] / digest).read_bytes() == photo.read_bytes()
    assert "已销号" in run("ticket", "show", number).out


def test_accounts_from_the_command_line(run):
    run("init", "--password", "office-pass-1")
    run("user", "add", "bob", "--name", "Bob", "--role", "inspector", "--password", "bob-pass-12")
    run("user", "passwd", "bob", "--password", "bob-pass-34")
    run("user", "disable", "bob", "--reason", "调离")
    refused = run("ticket", "open", "--as", "bob", "--title", "x", "--unit", "SS",
                  "--category", "安全", ok=False)
    assert refused.returncode == 2 and "已停用" in refused.err


@pytest.mark.parametrize("args", [
    ["ticket", "close", "SS-2026-0099", "--as", "office"],                 # unknown ticket
    ["ticket", "open", "--as", "office", "--title", "", "--unit", "SS", "--category", "安全"],
    ["ticket", "open", "--as", "office", "--title", "x", "--unit", "SS", "--category", "安全",
     "--deadline", "next friday"],
    ["ticket", "open", "--as", "office", "--title", "x" * 201, "--unit", "SS",
     "--category", "校园安全"],
    ["ticket", "open", "--as", "office", "--title", b"\xff\xfe bad", "--unit", "SS",
     "--category", "校园安全"],
    ["ticket", "open", "--as", "office"],                                   # missing options
    ["no-such-command"],
    ["user", "add", "x", "--name", "x", "--role", "unit", "--password", "long-enough"],
])
def test_bad_input_is_one_line_and_exit_2(run, args, tmp_path):
    run("init", "--password", "office-pass-1")
    before = recorded(tmp_path)
    result = run(*args, ok=False)
    assert result.returncode == 2
    assert_one_line_error(result)
    assert recorded(tmp_path) == before


def recorded(tmp_path: Path) -> int:
    """How many events the store under tmp_path holds."""
    from xiaohao.settings import Settings

    app = Settings(var_dir=tmp_path / "var", _env_file=None).build_app()
    return app.recorder.max_notification_id() or 0


def assert_one_line_error(result: subprocess.CompletedProcess) -> None:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xiaohao: 错误："), result.err


def test_init_refuses_a_short_password_before_writing_anything(run, tmp_path):
    result = run("init", "--password", "short", ok=False)
    assert result.returncode == 2 and "密码至少" in result.err
    assert recorded(tmp_path) == 0


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("XIAOHAO_STORE", "bogus", "XIAOHAO_STORE"),
    ("XIAOHAO_VAR_DIR", "/etc/passwd", "无法访问"),
    ("XIAOHAO_BULLETIN_AT", "friday 4pm", "XIAOHAO_BULLETIN_AT"),
    ("XIAOHAO_MAIL_CHANNEL", "pigeon", "XIAOHAO_MAIL_CHANNEL"),
])
def test_bad_settings_are_one_line_and_exit_2(run, variable, value, message):
    run.env[variable] = value
    result = run("init", "--password", "office-pass-1", ok=False)
    assert result.returncode == 2 and message in result.err
    assert_one_line_error(result)


def test_the_demo_puts_tickets_in_every_state(demo_store):
    var, output = demo_store
    assert "完成：85 个单位，34 个问题" in output
    sys.path.insert(0, str(ROOT))
    from xiaohao.settings import Settings

    app = Settings(var_dir=var, _env_file=None).build_app()
    tickets = [app.ticket(f"SS-2019-{i:04d}") for i in range(1, 35)]
    states = Counter(t["state"] for t in tickets)
    assert set(states) == {"opened", "assigned", "rectified", "verified", "closed", "cancelled"}
    assert any(t["returns"] == 2 for t in tickets)
    assert any(t["reopens"] == 1 for t in tickets)
    assert sum(t["days_overdue"] > 0 for t in tickets) >= 3
    plan = tickets[:8]
    assert [t["deadline"].isoformat() for t in plan][:3] == ["2019-07-31", "2019-09-30",
                                                              "2020-09-30"]
    assert plan[2]["co_unit_ids"] == ["D07", "D10", "D09"]
    assert plan[2]["leader_ids"] == ["L1", "L2", "L3"]
    assert app.today().isoformat() == "2019-08-26"   # the demo's clock file pins "now"


def test_the_demo_imports_its_schools_figures_and_tickets_every_shortfall_once(demo_store):
    """#14: the 2018-2019 学年's figures fail where the plan's §三 says; each shortfall holds
    one ticket, the ledger's open ones adopted."""
    var, output = demo_store
    assert "导入 2018-2019 学年学校数据，自查自评登记" in output
    from xiaohao.settings import Settings

    app = Settings(var_dir=var, _env_file=None).build_app()
    judged, figures = app.judgement(2018)
    assert set(figures.shortfalls) == set(judged.shortfalls)          # every one ticketed
    assert len(set(figures.shortfalls.values())) == len(figures.shortfalls)   # once each
    assert figures.shortfalls["T01-P01|primary|gov_class_size"] == "SS-2019-0011"  # the ledger's
    assert figures.shortfalls["T01-J01|all|gov_school_size"] == "SS-2019-0009"
    needs = {}
    for f in judged.shortfalls.values():
        needs[(f.indicator, f.part)] = needs.get((f.indicator, f.part), 0) + (f.need or 0)
    assert round(needs[("res_teaching_aux_area", "primary")], 2) == 17196.71   # §三
    assert needs[("gov_class_size", "primary")] == 63 and needs[("gov_class_size", "junior")] == 41
    assert needs[("gov_music_art_rooms", "primary")] == 47 + 48
    assert (needs[("res_pe_art_teachers", "primary")], needs[("res_pe_art_teachers", "junior")]) \
        == (110, 47)
    opened = app.ticket(figures.shortfalls["T11-P01|primary|res_sports_area"])
    assert opened["source"] == "self_assessment"
    assert judged.verdict.county == "unmet"


def test_the_demo_weeks_carry_their_bulletins_and_the_outbox_their_mail(demo_store):
    """#5: the demo's eight weeks issue 第1期 to 第8期 and fill var/outbox/; a tick of the
    scheduler just after finds nothing left to do; a bulletin shows as issued."""
    var, _ = demo_store
    env = os.environ | {"XIAOHAO_VAR_DIR": str(var)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*XIAOHAO, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    weeks = [f"2019-W{w}" for w in range(27, 35)]
    shown = [json.loads(run("bulletin", "show", "--week", w).stdout) for w in weeks]
    assert [s["number"] for s in shown] == list(range(1, 9))
    # the office signed each: 文号 in the order signed, all in 2019
    assert [s["document_number"] for s in shown] == [f"泗创办通〔2019〕{n}号" for n in range(1, 9)]
    assert all(s["signed_by"] == "office" and not s["draft"] for s in shown)
    eighth = shown[-1]["content"]
    # all 34 found, the one cancelled in a column of its own (#11)
    assert (eighth["totals"]["found_total"], eighth["totals"]["cancelled_total"]) == (34, 1)
    mails = list((var / "outbox" / "new").glob("*.eml"))
    assert len(mails) > 100
    subjects = {email.message_from_bytes(m.read_bytes(), policy=email.policy.default)["Subject"]
                for m in mails}
    assert any(s.startswith("【周通报 第8期】泗水县问题销号周报") for s in subjects)
    assert any(s.startswith("【到期提醒】") for s in subjects)
    once = run("scheduler", "--once")
    assert once.returncode == 0 and once.stdout == "", once.stderr


def test_serve_starts_and_answers(demo_store):
    var, _ = demo_store
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"XIAOHAO_VAR_DIR": str(var)}
    server = subprocess.Popen([*XIAOHAO, "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        # Sign in to the demo as the office, over the real socket, and see the demo's today.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            form = BeautifulSoup(client.get("/login").text, "html.parser")
            assert "泗水县问题销号系统" in form.title.text
            token = form.select_one('input[name="csrf_token"]')["value"]
            client.post("/login", data={"login": "office", "password": "xiaohao-demo",
                                        "csrf_token": token})
            home = BeautifulSoup(client.get("/").text, "html.parser")
            assert home.h1.small.text.startswith("2019年8月26日")
            assert int(home.select_one(".lights .light-red strong").text) > 0
    finally:
        server.terminate()
        server.wait(timeout=10)



def test_projection_status_and_rebuild(demo_store):
    var, _ = demo_store
    env = os.environ | {"XIAOHAO_VAR_DIR": str(var)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*XIAOHAO, "projections", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    assert "追赶中" in run("status").stdout or "已追上" in run("status").stdout
    rebuilt = run("rebuild", "tickets")
    assert rebuilt.returncode == 0 and "已重建：tickets" in rebuilt.stdout
    lines = run("status").stdout.splitlines()[1:]
    from projections.readmodels import all_projections
    assert len(lines) == len(all_projections())
    assert all(line.split()[3] == "0" for line in lines)   # no lag
    wrong = run("rebuild", "nope")
    assert wrong.returncode == 2 and "没有这个投影" in wrong.stderr


def test_a_bulletin_issued_by_hand_is_issued_once(run):
    """`xiaohao bulletin issue --week` is the scheduler's command (#5): a second run leaves the
    week's bulletin as it was; a week that cannot have one is refused in one line."""
    from datetime import datetime, timedelta

    from domain.clock import BEIJING
    from domain.periods import iso_week

    run("init", "--password", "office-pass-1")
    now = datetime.now(BEIJING)
    today = now.date()
    week = iso_week(today)
    first = run("bulletin", "issue", "--week", week).out
    assert f"已生成 周通报 第1期（{week}）草稿，待创建办签发" in first
    friday_afternoon = today.weekday() > 4 or (today.weekday() == 4 and now.hour >= 16)
    assert ("早于预定时间" in first) is not friday_afternoon   # said when issued before Friday
    assert "草稿待签发，未重复生成" in run("bulletin", "issue", "--week", week).out
    shown = json.loads(run("bulletin", "show", "--week", week).out)
    assert shown["number"] == 1 and shown["content"]["week"] == week and shown["draft"]
    assert shown["content"]["totals"]["found_total"] == 0
    assert_one_line_error(run("bulletin", "sign", "--week", week, "--by", "nobody", ok=False))
    signed = run("bulletin", "sign", "--week", week, "--by", "office").out
    assert f"已签发 周通报 第1期（{week}），文号 泗创办通〔{today.year}〕1号" in signed
    assert f"已签发（泗创办通〔{today.year}〕1号），未重复生成" in \
        run("bulletin", "issue", "--week", week).out
    assert_one_line_error(run("bulletin", "sign", "--week", week, "--by", "office",
                              ok=False))    # signed once
    for bad in ("2026-W60", iso_week(today + timedelta(weeks=1)), iso_week(today - timedelta(weeks=1))):
        assert_one_line_error(run("bulletin", "issue", "--week", bad, ok=False))
    assert_one_line_error(run("bulletin", "show", "--week", iso_week(today - timedelta(weeks=1)),
                              ok=False))


def test_everything_under_var_is_for_its_owner_only(demo_store, tmp_path):
    # #12: the event store, the read models, evidence, the outbox and the keys were made
    # readable by every user of the machine (0644 files, 0755 folders).
    var, _ = demo_store
    env = os.environ | {"XIAOHAO_VAR_DIR": str(var)}
    backup = tmp_path / "demo.xhbak"
    subprocess.run([*XIAOHAO, "backup", str(backup)], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    restored = tmp_path / "restored"
    subprocess.run([*XIAOHAO, "restore", str(backup)], cwd=ROOT, check=True, timeout=300,
                   env=env | {"XIAOHAO_VAR_DIR": str(restored)}, capture_output=True)
    for folder in (var, restored):
        made = [folder, *folder.rglob("*")]
        assert len(made) > 20 and any(p.name == "read.sqlite3" for p in made)
        loose = [f"{p.relative_to(folder)} {p.stat().st_mode & 0o777:o}" for p in made
                 if p.stat().st_mode & 0o777 != (0o700 if p.is_dir() else 0o600)]
        assert loose == [], folder
