"""Digests on their way (#5): through a real SMTP server (aiosmtpd on a loopback port) that
refuses every other connection, a server that is down, a crash mid-send, and a real HTTP
receiver for webhooks. Nothing queued is lost; nothing arrives twice but a crash's resend,
which carries the same Message-ID."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from domain.application import SYSTEM
from domain.clock import ManualClock, at_beijing, iso_week
from projections.readmodels import ReadModels
from scheduler.runs import issue
from scheduler.sender import Sender
from tests.conftest import START, open_at_school_a, seed_small_county, settings_for
from tests.test_cycle import with_contacts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """An aiosmtpd handler that keeps what it accepts and refuses every other connection."""

    def __init__(self, refuse_every_other: bool = False) -> None:
        self.messages: list[bytes] = []
        self.sessions: list[int] = []
        self.refuse_every_other = refuse_every_other

    async def handle_DATA(self, server, session, envelope):
        if id(session) not in self.sessions:
            self.sessions.append(id(session))
        if self.refuse_every_other and self.sessions.index(id(session)) % 2 == 0:
            return "451 4.3.0 Try again later"
        self.messages.append(envelope.original_content)
        return "250 OK"

    def message_ids(self) -> list[str]:
        import email

        return [email.message_from_bytes(m)["Message-ID"] for m in self.messages]


@pytest.fixture
def smtp():
    recorder = Recorder(refuse_every_other=True)
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield recorder, controller.port
    controller.stop()


def bulletin_queued(tmp_path, **settings_changes):
    """A county with overdue work and the bulletin of its first week issued: (app, read,
    settings, clock, deliveries)."""
    clock = ManualClock(at_beijing(START, 9))
    settings = settings_for("sqlite", tmp_path).model_copy(update=settings_changes)
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    with_contacts(app)
    for _ in range(3):
        number = open_at_school_a(app)
        app.assign(number, "office", lead_unit_id="TA-P01", person_id="HA",
                   deadline=START + timedelta(days=1))
    clock.set(at_beijing(START + timedelta(days=4), 16))
    read = ReadModels(app, settings.read_db)
    issue(app, read, "bulletin", iso_week(START))
    ids = [r[0] for r in read.fresh().execute("SELECT message_id FROM deliveries")]
    return app, read, settings, clock, ids


def send_until_done(sender: Sender, clock: ManualClock, rounds: int = 20) -> None:
    for _ in range(rounds):
        sender.send_due()
        clock.advance(minutes=5)


def states(read) -> dict[str, int]:
    return dict(read.fresh().execute("SELECT state, count(*) FROM deliveries GROUP BY state"))


def test_with_every_other_connection_refused_each_digest_arrives_once(smtp, tmp_path):
    recorder, port = smtp
    app, read, settings, clock, ids = bulletin_queued(
        tmp_path, mail_channel="smtp", smtp_port=port, delivery_backoff_seconds=60)
    assert len(ids) == 3   # two leaders and the school that leads the overdue items
    send_until_done(Sender.from_settings(app, read, settings), clock)
    assert sorted(recorder.message_ids()) == sorted(ids)            # each once, none lost
    assert states(read) == {"delivered": 3}
    assert len(recorder.sessions) >= 2 * len(ids) - 1               # refusals did happen
    failures = read.fresh().execute("SELECT sum(failures) FROM deliveries").fetchone()[0]
    assert failures >= 1


def test_a_server_that_is_down_leaves_it_failed_until_the_office_sends_it_again(tmp_path):
    port = free_port()   # nothing listens here yet
    app, read, settings, clock, ids = bulletin_queued(
        tmp_path, mail_channel="smtp", smtp_port=port, delivery_max_failures=3,
        delivery_backoff_seconds=30)
    sender = Sender.from_settings(app, read, settings)
    send_until_done(sender, clock)
    assert states(read) == {"failed": 3}
    row = read.fresh().execute("SELECT id, attempts, last_error FROM deliveries").fetchone()
    assert row[1] == 3 and "SMTP" in row[2]
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        send_until_done(sender, clock, rounds=2)
        assert recorder.messages == []                 # failed stays failed ...
        for delivery_id, in read.fresh().execute("SELECT id FROM deliveries"):
            app.requeue_delivery("office", delivery_id)   # ... until 重发
        send_until_done(sender, clock, rounds=2)
    finally:
        controller.stop()
    assert sorted(recorder.message_ids()) == sorted(ids) and states(read) == {"delivered": 3}


def test_a_send_cut_short_by_a_crash_goes_again_with_the_same_message_id(smtp, tmp_path):
    recorder, port = smtp
    recorder.refuse_every_other = False
    app, read, settings, clock, ids = bulletin_queued(tmp_path, mail_channel="smtp",
                                                      smtp_port=port)
    sender = Sender.from_settings(app, read, settings)
    first = read.fresh().execute("SELECT id FROM deliveries ORDER BY seq").fetchone()[0]
    # A sender claims the first one and hands it to the server, then dies before recording.
    from scheduler.mail import compose

    delivery = app.begin_attempt(first, "smtp")
    sender.channel.send(compose(delivery, settings.mail_from), delivery)
    sender.send_due()                                   # the others go; that one waits ...
    assert states(read) == {"delivered": 2, "sending": 1}
    clock.advance(minutes=11)                           # ... until it is clearly abandoned
    sender.send_due()
    assert states(read) == {"delivered": 3}
    got = recorder.message_ids()
    assert len(got) == 4 and got.count(delivery["message_id"]) == 2 and set(got) == set(ids)


def test_a_missing_address_fails_at_once_and_says_why(smtp, tmp_path):
    _, port = smtp
    app, read, settings, clock, _ = bulletin_queued(tmp_path, mail_channel="smtp",
                                                    smtp_port=port)
    app.update_person(SYSTEM, "L2", email="")
    clock.advance(days=7)
    issue(app, read, "bulletin", iso_week(START + timedelta(days=7)))
    Sender.from_settings(app, read, settings).send_due()
    rows = read.fresh().execute("SELECT recipient_key, state, attempts, last_error FROM "
                                "deliveries WHERE period = ?", (iso_week(START + timedelta(days=7)),))
    failed = [r for r in rows if r[1] == "failed"]
    assert failed == [("leader-L2", "failed", 1, "收件人没有登记邮箱地址")]


class Receiver(BaseHTTPRequestHandler):
    answers: list[tuple[int, dict]] = []
    bodies: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, answer = self.answers.pop(0) if self.answers else (200, {"errcode": 0})
        if status == 200 and answer.get("errcode", 0) == 0:
            type(self).bodies.append(body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("fmt", ["json", "wecom", "dingtalk"])
def test_a_webhook_receives_each_digest_once_after_errors(tmp_path, fmt):
    # A robot says no with an errcode in a 200; a plain receiver with its status.
    refusal = (200, {"errcode": 45009, "errmsg": "api freq out of limit"}) if fmt != "json" \
        else (503, {})
    Receiver.answers = [(500, {}), refusal]
    Receiver.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app, read, settings, clock, ids = bulletin_queued(
            tmp_path, mail_channel="webhook", webhook_format=fmt,
            webhook_url=f"http://127.0.0.1:{server.server_address[1]}/robot")
        send_until_done(Sender.from_settings(app, read, settings), clock)
    finally:
        server.shutdown()
    assert states(read) == {"delivered": 3}
    assert len(Receiver.bodies) == 3
    if fmt == "json":
        assert sorted(b["message_id"] for b in Receiver.bodies) == sorted(ids)
        assert all("问题销号系统" in b["text"] for b in Receiver.bodies)
    else:
        assert all(b["msgtype"] == "markdown" for b in Receiver.bodies)
        assert all("周通报" in json.dumps(b, ensure_ascii=False) for b in Receiver.bodies)
