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
from domain.clock import ManualClock, at_beijing
from domain.periods import iso_week
from projections.readmodels import ReadModels
from scheduler.runs import issue
from scheduler.sender import Sender
from tests.conftest import START, issue_signed, open_at_school_a, seed_small_county, settings_for
from tests.test_cycle import maildir, with_contacts
from xiaohao import wiring


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
    issue_signed(app, read, iso_week(START))
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
    send_until_done(wiring.sender(settings, app, read), clock)
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
    sender = wiring.sender(settings, app, read)
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
    sender = wiring.sender(settings, app, read)
    first = read.fresh().execute("SELECT id FROM deliveries ORDER BY seq").fetchone()[0]
    # A sender claims the first one and hands it to the server, then dies before recording.
    delivery = app.begin_attempt(first, "smtp")
    sender.channel.send(delivery)
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
    issue_signed(app, read, iso_week(START + timedelta(days=7)))
    wiring.sender(settings, app, read).send_due()
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
        send_until_done(wiring.sender(settings, app, read), clock)
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


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, as a county's own mail server might have."""
    import subprocess

    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


def authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=(auth_data.login, auth_data.password) == (b"xiaohao", b"s3cret"))


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_a_login_as_a_county_mail_server_asks(certificate, tmp_path, security):
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    recorder, port = Recorder(), free_port()
    # aiosmtpd offers AUTH over implicit TLS only when it is not told to require STARTTLS.
    tls = {"ssl_context": context, "auth_require_tls": False} if security == "ssl" else {
        "tls_context": context, "require_starttls": True, "auth_require_tls": True}
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            **tls)
    controller.start()
    try:
        common = dict(mail_channel="smtp", smtp_port=port, smtp_security=security,
                      smtp_user="xiaohao", delivery_max_failures=1, delivery_timeout_seconds=2)
        app, read, settings, clock, ids = bulletin_queued(
            tmp_path, smtp_password="wrong", smtp_ca_file=str(cert), **common)
        wiring.sender(settings, app, read).send_due()
        assert states(read) == {"failed": 3} and recorder.messages == []   # refused login
        unknown_ca = settings.model_copy(update={"smtp_password": "s3cret", "smtp_ca_file": ""})
        for row, in read.fresh().execute("SELECT id FROM deliveries"):
            app.requeue_delivery("office", row)
        wiring.sender(unknown_ca, app, read).send_due()
        assert states(read) == {"failed": 3}                     # certificate not trusted
        assert "CERTIFICATE_VERIFY_FAILED" in read.fresh().execute(
            "SELECT last_error FROM deliveries").fetchone()[0]
        for row, in read.fresh().execute("SELECT id FROM deliveries"):
            app.requeue_delivery("office", row)
        trusted = unknown_ca.model_copy(update={"smtp_ca_file": str(cert)})
        wiring.sender(trusted, app, read).send_due()
    finally:
        controller.stop()
    errors = read.fresh().execute("SELECT last_error FROM deliveries").fetchall()
    assert states(read) == {"delivered": 3}, errors
    assert sorted(recorder.message_ids()) == sorted(ids)


def test_a_server_that_never_answers_times_out_and_is_tried_again(tmp_path):
    """A mail server that accepts the connection and then says nothing."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(10)
        app, read, settings, clock, _ = bulletin_queued(
            tmp_path, mail_channel="smtp", smtp_port=silent.getsockname()[1],
            delivery_timeout_seconds=0.3)
        wiring.sender(settings, app, read).send_due()
    rows = read.fresh().execute("SELECT state, failures, last_error FROM deliveries").fetchall()
    assert {(state, failures) for state, failures, _ in rows} == {("queued", 1)}
    assert all("timed out" in error for _, _, error in rows)


# Regression tests from the review of the cycle (#5).

def test_a_name_typed_with_a_line_break_is_sent_on_one_line(smtp, tmp_path):
    recorder, port = smtp
    recorder.refuse_every_other = False
    clock_app = bulletin_queued(tmp_path, mail_channel="smtp", smtp_port=port)
    app, read, settings, clock, _ = clock_app
    app.update_person(SYSTEM, "L1", name="陈\n领导")
    clock.advance(days=7)
    issue_signed(app, read, iso_week(START + timedelta(days=7)))
    send_until_done(wiring.sender(settings, app, read), clock, rounds=2)
    assert states(read) == {"delivered": 6}
    import email

    tos = [email.message_from_bytes(m)["To"] for m in recorder.messages]
    assert any(to.startswith("=?utf-8?") or "陈 领导" in to for to in tos)


def test_an_address_that_is_not_one_is_refused_when_typed(tmp_path):
    from domain.errors import InvalidInputError

    app, *_ = bulletin_queued(tmp_path)
    for wrong in ("chen lingdao@county.example", "a@b.cn,c@d.cn", "张三@学校", "x@y"):
        with pytest.raises(InvalidInputError, match="邮箱地址无效"):
            app.update_person(SYSTEM, "L1", email=wrong)


def test_sending_goes_on_while_a_read_model_has_stopped(tmp_path):
    """A stopped projection holds back new runs (their figures would be wrong), not the mail
    already queued."""

    app, read, settings, clock, _ = bulletin_queued(tmp_path)
    read.fresh().execute("UPDATE _positions SET error = 'broken' WHERE name = 'weekly'")
    read.db.conn.commit()
    clock.advance(days=3)     # Monday: the check list and reminders fall due
    cycle = wiring.cycle(settings, app, read)
    assert cycle.tick() == []
    assert states(read) == {"delivered": 3}
    assert app.cycle_run("checklist", iso_week(START + timedelta(days=7))) is None
    read.fresh().execute("UPDATE _positions SET error = NULL WHERE name = 'weekly'")
    read.db.conn.commit()
    issued = [(r["kind"], r["period"]) for r in cycle.tick()]   # in order, from the first
    assert issued[0] == ("checklist", iso_week(START))
    assert ("checklist", iso_week(START + timedelta(days=7))) in issued


def test_a_late_success_stands_and_a_superseded_failure_is_not_recorded(tmp_path):
    app, read, settings, clock, _ = bulletin_queued(tmp_path)
    first = read.fresh().execute("SELECT id FROM deliveries ORDER BY seq").fetchone()[0]
    a = app.begin_attempt(first, "smtp")
    clock.advance(minutes=11)
    b = app.begin_attempt(first, "smtp")               # A looks dead: B takes it over
    assert b["attempts"] == 2 and b["failures"] == 1
    app.finish_attempt(first, a["attempts"], detail="smtp:late")     # A did get through
    app.finish_attempt(first, b["attempts"], error="451 try later")  # B's failure: too late
    assert app.delivery(first)["state"] == "delivered"


def test_a_scheduler_taking_the_lead_takes_over_at_once_what_was_being_sent(tmp_path):
    """Only the leader sends, so what is `sending` when a scheduler takes the lead was cut off
    by a leader that died: taken again now, with its Message-ID, not ten minutes later."""
    app, read, settings, clock, _ = bulletin_queued(tmp_path)
    first = read.fresh().execute("SELECT id FROM deliveries ORDER BY seq").fetchone()[0]
    cut = app.begin_attempt(first, "outbox")          # and its sender dies mid-send
    wiring.sender(settings, app, read).send_due()     # a sender not leading: it waits
    assert app.delivery(first)["state"] == "sending"
    clock.advance(seconds=5)
    cycle = wiring.cycle(settings, app, read)
    try:
        cycle.tick()                                  # takes the lead, and the cut-off send
    finally:
        cycle.stop()
    taken = app.delivery(first)
    assert (taken["state"], taken["attempts"], taken["failures"]) == ("delivered", 2, 1)
    assert [m["Message-ID"] for m in maildir(settings)].count(cut["message_id"]) == 1


def test_a_message_that_keeps_killing_its_sender_ends_up_failed(tmp_path):
    app, read, settings, clock, _ = bulletin_queued(tmp_path)
    first = read.fresh().execute("SELECT id FROM deliveries ORDER BY seq").fetchone()[0]
    for _ in range(3):
        app.begin_attempt(first, "smtp", max_failures=3)    # and the sender dies each time
        clock.advance(minutes=11)
    assert app.begin_attempt(first, "smtp", max_failures=3) is None
    assert app.delivery(first)["state"] == "failed"


def test_message_ids_tell_apart_keys_that_read_alike():
    from domain.delivery import message_id

    ids = {message_id("SS", "bulletin", "2026-W48", key)
           for key in ("unit-一中", "unit-二中", "unit-t01_j01", "unit-t01-j01")}
    assert len(ids) == 4 and all(i.startswith("<bulletin.2026-W48.unit-") for i in ids)
    assert message_id("SS", "bulletin", "2026-W48", "unit-一中") == \
        message_id("SS", "bulletin", "2026-W48", "unit-一中")      # and stay stable


def test_a_robot_message_is_cut_to_what_the_robot_takes():
    from xiaohao.adapters.channels import ROBOT_LIMITS, within

    long = "逾期问题：音乐教室面积不足。" * 1000
    cut = within(long, ROBOT_LIMITS["wecom"])
    assert len(cut.encode()) <= ROBOT_LIMITS["wecom"] and cut.endswith("查看）")
    assert within("短", 10) == "短"


def test_a_webhook_key_never_reaches_the_record(tmp_path):
    port = free_port()   # down
    app, read, settings, clock, _ = bulletin_queued(
        tmp_path, mail_channel="webhook", webhook_format="wecom",
        webhook_url=f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=SECRET-KEY-123")
    wiring.sender(settings, app, read).send_due()
    errors = [e for (e,) in read.fresh().execute("SELECT last_error FROM deliveries")]
    assert errors and all("/cgi-bin/webhook/send" in e and "SECRET" not in e for e in errors)


def test_a_day_has_one_spelling(tmp_path):
    from domain.errors import InvalidInputError

    app, read, *_ = bulletin_queued(tmp_path)
    for other in ("20261102", "2026-W45-1"):
        with pytest.raises(InvalidInputError, match="日期"):
            issue(app, read, "reminders", other, warn_days=3)


def test_before_init_a_tick_has_nothing_to_do(tmp_path):

    settings = settings_for("sqlite", tmp_path)
    app = settings.build_app(clock=ManualClock(at_beijing(START, 9)))
    assert wiring.cycle(settings, app).tick() == []
