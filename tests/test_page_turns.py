"""Pages drawn a few at a time, in the order asked (web/turns.py): no more GETs drawn at once
than there are turns, the rest served first come first served; commands never wait for a
turn; a turn is handed on when the answer starts, so a file streaming out holds none."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from web.turns import PageTurns, usable_cores
from xiaohao import wiring


class Drawing:
    """An ASGI app whose every request takes a while: how many are in it at once, and the
    order they finished in. /stream starts its answer, then waits for `let_go` to end it."""

    def __init__(self) -> None:
        self.inside = self.most = 0
        self.finished: list[str] = []
        self.let_go = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        self.inside += 1
        self.most = max(self.most, self.inside)
        await asyncio.sleep(0.02)
        self.inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] == "/stream":
            await self.let_go.wait()
        self.finished.append(scope["path"])
        await send({"type": "http.response.body", "body": b"ok"})


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def asked_in_order(web, method: str, paths: list[str]) -> None:
    async with client(web) as c:
        tasks = []
        for path in paths:
            tasks.append(asyncio.create_task(c.request(method, path)))
            await asyncio.sleep(0.001)           # asked one after another
        assert all(r.status_code == 200 for r in await asyncio.gather(*tasks))


@pytest.mark.parametrize("at_once", [1, 2])
def test_no_more_pages_are_drawn_at_once_than_there_are_turns_first_come_first_served(at_once):
    drawing = Drawing()
    paths = [f"/page/{i}" for i in range(8)]
    asyncio.run(asked_in_order(PageTurns(drawing, at_once), "GET", paths))
    assert drawing.most == at_once
    if at_once == 1:
        assert drawing.finished == paths


def test_commands_never_wait_for_a_turn():
    drawing = Drawing()
    asyncio.run(asked_in_order(PageTurns(drawing, 1), "POST", [f"/do/{i}" for i in range(6)]))
    assert drawing.most == 6


def test_an_answer_streaming_out_holds_no_turn():
    drawing = Drawing()
    web = PageTurns(drawing, 1)

    async def stream_while_a_page_is_drawn() -> None:
        async with client(web) as c:
            streaming = asyncio.create_task(c.get("/stream"))
            await asyncio.sleep(0.05)                     # its answer has started
            page = await asyncio.wait_for(c.get("/page"), timeout=5)
            assert page.status_code == 200 and not streaming.done()
            drawing.let_go.set()
            assert (await streaming).status_code == 200

    asyncio.run(stream_while_a_page_is_drawn())
    assert drawing.finished == ["/page", "/stream"]


def test_a_turn_is_handed_on_when_a_page_fails():
    async def failing(scope, receive, send):
        raise RuntimeError("a fault while drawing")

    async def ask_twice() -> None:
        async with client(PageTurns(failing, 1)) as c:
            for _ in range(2):                  # the second would wait forever for the turn
                with pytest.raises(RuntimeError):
                    await asyncio.wait_for(c.get("/"), timeout=5)

    asyncio.run(ask_twice())


def test_the_server_draws_one_page_per_usable_core_unless_told(tmp_path):
    from tests.conftest import settings_for

    settings = settings_for("sqlite", tmp_path)
    assert wiring.web_config(settings).pages_at_once == usable_cores() >= 1
    told = settings.model_copy(update={"pages_at_once": 3})
    assert wiring.web_config(told).pages_at_once == 3
