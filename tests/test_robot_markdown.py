"""A group robot's markdown carries only what the system wrote: a title typed as a link, an
image or markup arrives as plain text, and the system's own links stay links."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import ThreadingHTTPServer

from domain.clock import ManualClock, at_beijing
from domain.periods import iso_week
from projections.readmodels import ReadModels
from tests.conftest import START, issue_signed, open_at_school_a, seed_small_county, settings_for
from tests.test_delivery import Receiver, send_until_done, with_contacts
from xiaohao import wiring
from xiaohao.adapters.channels import plain_markdown

TRAP = "音乐室不足[点此查看](http://evil.example/x)![](https://evil.example/i.png)<font color=red>急</font>"


def test_nothing_a_user_typed_becomes_a_link_image_or_markup():
    said = plain_markdown(f"{TRAP}\n详见 http://xh.example/tickets/SS-2026-0001",
                          "http://xh.example/")
    assert not any(mark in said for mark in ("[", "](", "<font", "http://evil", "https://evil"))
    assert "［点此查看］" in said and "＜font color=red＞急＜/font＞" in said
    assert said.endswith("http://xh.example/tickets/SS-2026-0001")


def test_a_robot_receives_a_bulletin_whose_titles_cannot_carry_links(tmp_path):
    Receiver.answers, Receiver.bodies = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clock = ManualClock(at_beijing(START, 9))
    settings = settings_for("sqlite", tmp_path, mail_channel="webhook", webhook_format="dingtalk",
                            webhook_url=f"http://127.0.0.1:{server.server_address[1]}/robot")
    app = settings.build_app(clock=clock)
    try:
        seed_small_county(app)
        with_contacts(app)
        number = open_at_school_a(app, title=TRAP)
        app.assign(number, "office", lead_unit_id="TA-P01", person_id="HA",
                   deadline=START + timedelta(days=1))
        clock.set(at_beijing(START + timedelta(days=4), 16))
        read = ReadModels(app, settings.read_db)
        issue_signed(app, read, iso_week(START))
        send_until_done(wiring.sender(settings, app, read), clock)
    finally:
        server.shutdown()
        app.close()
    sent = [json.dumps(b, ensure_ascii=False) for b in Receiver.bodies]
    assert sent and any("音乐室不足" in s for s in sent)
    for body in Receiver.bodies:
        text = body["markdown"]["text"]
        assert "](" not in text and "<font" not in text
        assert "http://evil" not in text and "https://evil" not in text and "![" not in text
