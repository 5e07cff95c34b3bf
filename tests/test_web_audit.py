"""The seal as the pages show it (#13): /about names the key that signs checkpoints, and an
issued bulletin prints the checkpoint taken when it was issued."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import domain.seal
from domain.periods import iso_week
from domain.seal import fingerprint
from projections.readmodels import ReadModels
from tests.conftest import START, issue_signed, open_at_school_a, settings_for
from tests.web_client import Browser, page


def test_about_names_the_seals_key_for_anyone(web_app, tmp_path):
    web, _ = web_app
    key = settings_for("sqlite", tmp_path).seal_key()
    about = page(Browser(web).get("/about"))
    assert [c.text for c in about.select("code.fingerprint")] == [
        fingerprint(key.public_key), key.public_key.hex()]
    assert "ED25519" in about.text and "SHA256" in about.text


def test_a_bulletin_prints_its_checkpoint(web_app, tmp_path, clock):
    web, app = web_app
    settings = settings_for("sqlite", tmp_path)
    open_at_school_a(app)
    clock.advance(days=4, hours=8)
    run = issue_signed(app, ReadModels(app, tmp_path / "cycle.sqlite3"), iso_week(START),
                       seal=settings.sealer(app))
    seal = run["content"]["seal"]
    assert seal["size"] >= run["position"], "the checkpoint covers what the bulletin was built from"
    assert settings.sealer(app).recorded(seal["size"])["root"] == seal["root"]
    sheet = page(Browser(web, "office").get(f"/bulletins/{iso_week(START)}"))
    assert sheet.select_one("footer .seal").text == f"存证：第 {seal['size']} 条 · {seal['root']}"


def test_the_audit_page_is_the_auditors_and_the_offices(web_app):
    web, _ = web_app
    for login in ("audit", "office"):
        assert Browser(web, login).get("/audit").status_code == 200
    for login in ("insp", "school_a", "leader_a"):
        browser = Browser(web, login)
        for url in ("/audit", "/audit/export", "/audit/verify_seal.py"):
            assert browser.get(url).status_code == 403, (login, url)
        assert browser.post("/audit/verify").status_code == 403
    assert Browser(web).get("/audit", follow_redirects=False).status_code == 303


def test_verify_now_runs_in_the_background_and_is_recorded(web_app, tmp_path, clock):
    web, app = web_app
    settings = settings_for("sqlite", tmp_path)
    open_at_school_a(app)
    clock.advance(days=4, hours=8)
    issue_signed(app, ReadModels(app, tmp_path / "cycle.sqlite3"), iso_week(START),
                 seal=settings.sealer(app))
    auditor = Browser(web, "audit")
    sheet = page(auditor.get("/audit"))
    (first,) = sheet.select("table tbody tr")
    assert first.select_one("a")["href"] == f"/bulletins/{iso_week(START)}"
    assert "第1期周通报" in first.text
    started = auditor.post("/audit/verify", htmx=True)
    assert started.status_code == 200
    deadline = time.monotonic() + 30
    while "正在校验" in auditor.get("/audit", headers={"HX-Request": "true"}).text:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    done = page(auditor.get("/audit"))
    (latest, *_) = done.select("ul.verifications > li")
    assert "audit · 通过" in latest.text and "存证 1 个" in latest.text
    assert app.recorder.select_notifications(
        start=1, limit=10_000, topics=["domain.checkpoints:Verification.Completed"])


def test_the_export_downloads_and_verifies_offline(web_app, tmp_path, clock):
    web, app = web_app
    settings = settings_for("sqlite", tmp_path)
    open_at_school_a(app)
    settings.sealer(app).checkpoint("测试")
    office = Browser(web, "office")
    export = office.get("/audit/export")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    verifier = office.get("/audit/verify_seal.py")
    assert verifier.content == Path(domain.seal.__file__).read_bytes()
    (tmp_path / "verify_seal.py").write_bytes(verifier.content)
    (tmp_path / "audit.jsonl").write_bytes(export.content)
    checked = subprocess.run([sys.executable, "-I", str(tmp_path / "verify_seal.py"),
                              str(tmp_path / "audit.jsonl")], capture_output=True, text=True)
    assert checked.returncode == 0 and "1 checkpoints: verified" in checked.stdout
