"""Evidence round by round on a phone (#11), in the system Chromium: a school adds 整改前
photos from the ticket page, and the page, with a failed rectification, the current one and a
doubtful photo, fits a 390-px screen without scrolling sideways."""

from __future__ import annotations

import pytest

from domain.application import SYSTEM
from tests.conftest import assign_to_school_a, open_at_school_a, settings_for
from tests.test_browser import PHONE, act, shot, signed_in
from tests.web_client import jpeg_photo
from xiaohao import wiring

pytestmark = pytest.mark.slow
FAR = (35.75, 117.27)     # 11 km from the school


def test_the_rounds_fit_a_phone_and_a_school_adds_photos_from_it(live_server, chromium):
    base, app, tmp = live_server
    store = wiring.evidence(settings_for("sqlite", tmp))

    def photo(name: str, size: tuple[int, int], **exif) -> dict:
        return store.store(jpeg_photo(size, **exif), name).as_dict()

    app.locate_unit(SYSTEM, code="TA-P01", latitude=35.65, longitude=117.27)
    number = open_at_school_a(app, title="四年级2个班超过45人，音乐教室器材不足，需一并整改到位",
                              evidence=[photo("发现问题时教室全景照片（长文件名测试）.jpg", (1600, 1200))])
    assign_to_school_a(app, number)
    app.check_progress(number, "insp", note="周检查：正在腾退教室",
                       evidence=[photo("检查.jpg", (800, 600))])
    app.rectify(number, "school_a", measures="分班", evidence=[photo("整改1.jpg", (900, 600))])
    app.reinspect(number, "insp", passed=False, findings="仍有一个班超员",
                  evidence=[photo("复查.jpg", (700, 600))])
    app.rectify(number, "school_a", measures="再分班，新增一个教学班",
                evidence=[photo("整改2-远处拍摄.jpg", (640, 480), gps=FAR),
                          photo("整改2.jpg", (600, 480), taken_at="2026:10:20 09:00:00")])

    school = signed_in(chromium, base, "school_a", PHONE)
    school.goto(f"/tickets/{number}")
    titles = school.locator("#evidence .round h3").all_inner_texts()
    assert [t.split(" ⚠")[0] for t in titles] == [
        "整改前照片", "检查进度", "第1次整改（复查未通过，已退回）", "当前整改照片（第2次整改，待复查）"]
    assert school.locator(".round.current .photo-flag").count() == 2
    assert school.locator("#evidence img").count() == 6
    for i in range(6):      # the thumbnails load lazily: bring each into view
        school.locator("#evidence img").nth(i).scroll_into_view_if_needed()
    school.wait_for_function("[...document.querySelectorAll('#evidence img')]"
                             ".every(i => i.complete && i.naturalWidth > 0)", timeout=5000)
    assert _overflow(school) == 0
    shot(school, "phone-evidence-rounds")
    # No 补充整改前照片 while the fix awaits its verdict; the inspector sees the doubts there.
    assert school.locator("summary:text-is('补充整改前照片')").count() == 0
    inspector = signed_in(chromium, base, "insp", PHONE)
    inspector.goto(f"/tickets/{number}")
    inspector.locator("summary:text-is('复查')").click()
    assert inspector.locator(".photo-flags li").count() == 2
    assert inspector.locator(".photo-flags").is_visible()
    assert _overflow(inspector) == 0
    shot(inspector, "phone-reinspect-flags")
    inspector.locator("summary:text-is('复查')").click()     # closed again; act opens it
    act(inspector, "复查", {"input[name=passed][value='0']": "",
                          "textarea[name=findings]": "照片拍摄地点不在学校，请重拍"})
    inspector.wait_for_selector(".state:has-text('整改中')")
    # Back in rectification: the school adds a photo of the problem from its phone.
    school.goto(f"/tickets/{number}")
    act(school, "补充整改前照片", {"textarea[name=note]": "补拍超员班级"}, files={
        "input[name=evidence]": {"name": "补拍.jpg", "mimeType": "image/jpeg",
                                 "buffer": jpeg_photo((500, 400))}})
    school.wait_for_selector(".round-before img[alt='补拍.jpg']")
    assert "补拍超员班级" in school.locator(".round-before").inner_text()
    assert not school.locator(".round.current").count()
    assert _overflow(school) == 0


def _overflow(page) -> int:
    """How far the page reaches past the screen's right edge, in CSS pixels."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
