"""Evidence that cannot pile up or mislead (#12): files no recorded command names are swept
a day after they were stored, each account has a daily upload quota shared by every node,
and a file is saved under a name whose extension is what it is."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import open_at_school_a, seed_small_county, settings_for
from tests.web_client import Browser, jpeg_photo, page
from xiaohao import wiring
from xiaohao.evidence_upkeep import SWEEP_AFTER, sweep_evidence

ROOT = Path(__file__).resolve().parent.parent
TWO_DAYS_AGO = time.time() - 2 * 86400


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(out, "PNG")
    return out.getvalue()


def stored(web) -> dict[str, float]:
    """Each stored file's sha256 and time."""
    folder = web.state.config.evidence.folder
    return {p.name: p.stat().st_mtime for p in folder.glob("[0-9a-f][0-9a-f]/*")}


def age(web, digest: str) -> None:
    os.utime(web.state.config.evidence.path(digest), (TWO_DAYS_AGO, TWO_DAYS_AGO))


def test_files_no_command_names_are_swept_a_day_after_they_were_stored(web_app, tmp_path):
    web, app = web_app
    office = Browser(web, "office")
    # A finding refused for an unknown school leaves its photo stored: the probe's finding.
    refused = office.post("/tickets/new", {"title": "围墙破损", "unit_id": "NOWHERE",
                                           "category": "special_rooms"},
                          files=[("evidence", ("现场.jpg", jpeg_photo(), "image/jpeg"))])
    assert refused.status_code == 404
    [orphan] = stored(web)
    number = open_at_school_a(app)
    named = office.post(f"/tickets/{number}/add_evidence", {},
                        files=[("evidence", ("整改前.jpg", jpeg_photo((320, 240)), "image/jpeg"))])
    assert named.status_code == 303
    [kept] = set(stored(web)) - {orphan}
    office.get(f"/tickets/{number}/evidence/{orphan}/thumb")     # none: it names no ticket
    assert office.get(f"/tickets/{number}/evidence/{kept}/thumb").status_code == 200
    age(web, orphan)
    age(web, kept)
    fresh = office.post("/tickets/new", {"title": "围墙破损", "unit_id": "NOWHERE",
                                         "category": "special_rooms"},
                        files=[("evidence", ("又一张.jpg", jpeg_photo((300, 200)), "image/jpeg"))])
    assert fresh.status_code == 404
    [young] = set(stored(web)) - {orphan, kept}

    swept = sweep_evidence(app, web.state.config.evidence)
    assert (swept.files, set(stored(web))) == (1, {kept, young})
    assert swept.bytes > 0
    assert not (web.state.config.evidence.folder / "thumbs" / f"{orphan}.jpg").exists()
    # Uploading a file again restarts its grace, so a form sent now may still name it.
    office.post("/tickets/new", {"title": "围墙破损", "unit_id": "NOWHERE",
                                 "category": "special_rooms"},
                files=[("evidence", ("又一张.jpg", jpeg_photo((300, 200)), "image/jpeg"))])
    assert sweep_evidence(app, web.state.config.evidence,
                          now=time.time() + SWEEP_AFTER.total_seconds() - 60).files == 0


def test_the_command_and_the_cycle_sweep(tmp_path, clock):
    settings = settings_for("sqlite", tmp_path)
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    store = wiring.evidence(settings)
    first = store.store(jpeg_photo(), "a.jpg").sha256
    second = store.store(jpeg_photo((200, 100)), "b.jpg").sha256
    for digest in (first, second):
        os.utime(store.path(digest), (TWO_DAYS_AGO, TWO_DAYS_AGO))
    cycle = wiring.cycle(settings, app)
    [chore] = cycle.daily_chores
    chore()
    assert not store.path(first).exists() and not store.path(second).exists()
    store.store(jpeg_photo(), "a.jpg")
    os.utime(store.path(first), (TWO_DAYS_AGO, TWO_DAYS_AGO))
    app.close()
    env = os.environ | {"XIAOHAO_VAR_DIR": str(settings.var_dir), "XIAOHAO_STORE": "sqlite"}
    said = subprocess.run([sys.executable, "-c", "from xiaohao.cli import main; main()",
                           "evidence", "sweep"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert said.returncode == 0, said.stderr
    assert "已删除 1 个上传后超过 25 小时仍未被任何记录引用的证据文件" in said.stdout
    assert not store.path(first).exists()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_nodes(request, tmp_path, clock):
    """Two web apps on one store, each account allowed 1 MB a day."""
    schema = request.getfixturevalue("pg_schema") if request.param == "postgres" else ""
    settings = settings_for(request.param, tmp_path, schema, upload_quota_mb_per_day=1)
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    webs = [wiring.web(settings, app=app, follow=False) for _ in range(2)]
    with TestClient(webs[0]), TestClient(webs[1]):
        yield webs, app
    app.close()


def test_an_accounts_uploads_stop_at_its_daily_quota_on_every_node(two_nodes, clock):
    (first, second), app = two_nodes
    files = [b"\xff\xd8\xff" + os.urandom(400_000) for _ in range(4)]    # 0.38 MB each
    assert upload_as(first, app, "insp", files[0]).status_code == 201
    assert upload_as(second, app, "insp", files[1]).status_code == 201
    before = stored(first)
    over = upload_as(second, app, "insp", files[2])                  # 1.14 MB in all
    assert over.status_code == 429
    assert over.headers["content-type"] == "application/problem+json"
    assert "今天上传的文件已达上限（1 MB）" in over.json()["detail"]
    assert stored(first) == before
    # On a page the form says so, as it was sent; the office's own quota is untouched.
    inspector = Browser(first, "insp")
    refused = inspector.post("/tickets/new", {"title": "围墙破损", "unit_id": "TA-P01",
                                              "category": "special_rooms"},
                             files=[("evidence", ("现场.jpg", files[2], "image/jpeg"))])
    assert refused.status_code == 429
    assert "今天上传的文件已达上限" in page(refused).select_one(".error").text
    assert page(refused).select_one("input[name=title]")["value"] == "围墙破损"
    assert stored(first) == before
    assert upload_as(first, app, "office", files[2]).status_code == 201
    clock.advance(days=1)
    assert upload_as(second, app, "insp", files[3]).status_code == 201


def upload_as(web, app, login: str, photo: bytes):
    token = app.issue_api_token(login, "测试")
    return Browser(web).client.post("/api/v1/evidence",
                                    headers={"Authorization": f"Bearer {token}"},
                                    files={"file": ("现场.jpg", photo, "image/jpeg")})


def test_a_file_is_saved_under_the_extension_of_what_it_is(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    office.post(f"/tickets/{number}/add_evidence", {}, files=[
        ("evidence", ("检查报告.html", png(), "image/png")),
        ("evidence", ("整改方案.jpg", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n", "image/jpeg"))])
    files = {f["content_type"]: f["sha256"] for f in app.ticket(number)["evidence_before"]}
    picture = office.get(f"/tickets/{number}/evidence/{files['image/png']}")
    assert picture.headers["content-type"] == "image/png"
    assert picture.headers["content-disposition"].startswith("inline;")
    assert "filename*=utf-8''%E6%A3%80%E6%9F%A5%E6%8A%A5%E5%91%8A.png" in \
        picture.headers["content-disposition"]
    document = office.get(f"/tickets/{number}/evidence/{files['application/pdf']}")
    assert document.headers["content-disposition"].startswith("attachment;")
    assert document.headers["content-disposition"].endswith(".pdf")
    assert document.headers["x-content-type-options"] == "nosniff"


def test_a_daily_quota_counts_per_account_and_day(tmp_path):
    from xiaohao.adapters.counters import CountsInMemory, DailyUploads

    quota = DailyUploads(CountsInMemory(), most_bytes=100)
    today, tomorrow = date(2026, 11, 2), date(2026, 11, 3)
    assert quota.take("a", today, 60) and not quota.take("a", today, 41)
    assert quota.take("a", today, 40) and quota.take("b", today, 100)
    assert not quota.take("a", tomorrow, 101) and quota.take("a", tomorrow, 100)
