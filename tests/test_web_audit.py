"""The seal as the pages show it (#13): /about names the key that signs checkpoints, and an
issued bulletin prints the checkpoint taken when it was issued."""

from __future__ import annotations

from domain.periods import iso_week
from domain.seal import fingerprint
from projections.readmodels import ReadModels
from scheduler.runs import issue
from tests.conftest import START, open_at_school_a, settings_for
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
    run, _ = issue(app, ReadModels(app, tmp_path / "cycle.sqlite3"), "bulletin",
                   iso_week(START), warn_days=3, seal=settings.sealer(app))
    seal = run["content"]["seal"]
    assert seal["size"] >= run["position"], "the checkpoint covers what the bulletin was built from"
    assert settings.sealer(app).recorded(seal["size"])["root"] == seal["root"]
    sheet = page(Browser(web, "office").get(f"/bulletins/{iso_week(START)}"))
    assert sheet.select_one("footer .seal").text == f"存证：第 {seal['size']} 条 · {seal['root']}"
