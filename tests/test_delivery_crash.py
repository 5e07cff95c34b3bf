"""`xiaohao scheduler` as a real process, sending to a real (slow) SMTP server, killed with
SIGKILL in the middle of sending, then started again (#5): every queued message arrives, none
is lost, and only the one cut off mid-send may arrive twice, with the same Message-ID."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from domain.application import SYSTEM
from domain.periods import iso_week
from projections.readmodels import ReadModels
from tests.conftest import START, issue_signed
from tests.test_delivery import Recorder, bulletin_queued, free_port
from tests.test_numbering_and_restart import ROOT, env_for

LEADERS = 16
XIAOHAO = [sys.executable, "-c", "from xiaohao.cli import main; main()"]


class SlowRecorder(Recorder):
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.15)
        return await super().handle_DATA(server, session, envelope)


def scheduler(settings, port: int) -> subprocess.Popen:
    env = env_for(settings) | {"XIAOHAO_MAIL_CHANNEL": "smtp", "XIAOHAO_SMTP_PORT": str(port),
                               "XIAOHAO_SCHEDULER_TICK_SECONDS": "0.5"}
    return subprocess.Popen([*XIAOHAO, "scheduler"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_scheduler_killed_mid_send_loses_nothing(tmp_path):
    app, read, settings, clock, _ = bulletin_queued(tmp_path)
    for i in range(LEADERS):        # more leaders, more digests in flight
        app.register_person(SYSTEM, person_id=f"LX{i}", name=f"领导{i}", title="副县长",
                            unit_id="SS", email=f"lx{i}@county.example")
        app.assign_baobao(SYSTEM, leader_id=f"LX{i}", unit_id="TB", on=START)
    clock.advance(days=7)
    issue_signed(app, read, iso_week(START + timedelta(days=7)))
    queued = [m for (m,) in read.fresh().execute(
        "SELECT message_id FROM deliveries WHERE state = 'queued'")]
    settings.pin_clock(clock.now())          # the processes' "now"
    recorder = SlowRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        first = scheduler(settings, port)
        wait_for(lambda: len(recorder.messages) >= 5)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        got_before = len(recorder.messages)
        second = scheduler(settings, port)   # same moment: what was cut off is taken at once
        check = ReadModels(app, tmp_path / "check.sqlite3")

        def all_delivered() -> bool:
            states = dict(check.fresh().execute(
                "SELECT state, count(*) FROM deliveries GROUP BY state"))
            return set(states) == {"delivered"}

        wait_for(all_delivered, 120)
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=30)
    finally:
        controller.stop()
    assert second.returncode == 0 and "已停止" in out, err
    received = Counter(recorder.message_ids())
    assert 5 <= got_before < len(queued)              # it was killed mid-way
    assert set(queued) <= set(received)              # nothing queued was lost
    twice = [m for m, n in received.items() if n > 1]
    assert len(twice) <= 1 and all(received[m] == 2 for m in twice)
