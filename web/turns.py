"""Pages drawn a few at a time, in the order they were asked for.

Drawing a page is work for the processor: reading the read models, then the template. Python
runs one thread at a time, so pages drawn side by side share the processor and each takes as
long as all of them: at 8 connections a search page costing 15 ms took over 100. Letting in
as many pages as there are cores and queueing the rest, first come first served, costs no
throughput and keeps every page's wait to the pages before it (the list's p99 at 8 connections
on one core fell from 140 to 56 ms, README "Benchmarks").

A turn covers a GET or HEAD from its arrival until its answer starts: a file or an export
streams out after its turn. Commands (POST and the rest) are never held here: they may wait on
a client's upload or the store, and a page waiting behind them would wait for nothing.
"""

from __future__ import annotations

import asyncio
import os
import weakref

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAWN = frozenset({"GET", "HEAD"})


def usable_cores() -> int:
    """The cores this process may run on (fewer than the machine's when pinned)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class PageTurns:
    """At most `at_once` pages drawn at once; the others wait their turn in order."""

    def __init__(self, app: ASGIApp, at_once: int) -> None:
        self.app, self.at_once = app, at_once
        # One queue per event loop (a test may serve the same app from several).
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in DRAWN:
            await self.app(scope, receive, send)
            return
        turns = self._turns.setdefault(asyncio.get_running_loop(),
                                       asyncio.Semaphore(self.at_once))
        await turns.acquire()
        held = True

        def hand_on() -> None:
            nonlocal held
            if held:
                held = False
                turns.release()

        async def answering(message: Message) -> None:
            if message["type"] == "http.response.start":
                hand_on()
            await send(message)

        try:
            await self.app(scope, receive, answering)
        finally:
            hand_on()
