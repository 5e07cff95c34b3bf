"""Sending what the runs queued: each due delivery is claimed (an Attempted event, so two
senders never both send it), handed to the channel, and its outcome recorded."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from domain.application import XiaohaoApp
from domain.delivery import cut_off
from domain.errors import DomainError
from projections.readmodels import ReadModels
from projections.runs import due_deliveries

log = logging.getLogger("xiaohao.scheduler")


class DeliveryError(Exception):
    """The attempt failed; `permanent` when trying again cannot help (no address)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    """Where deliveries go (the composition root picks one: a Maildir, SMTP, a webhook)."""

    name: str

    def send(self, delivery: dict) -> str:
        """Deliver it; return what took it, or raise DeliveryError."""


@dataclass
class Sent:
    delivered: int = 0
    failed: int = 0


class Sender:
    def __init__(self, app: XiaohaoApp, read: ReadModels, channel: Channel, *,
                 max_failures: int = 5, backoff: timedelta = timedelta(minutes=1),
                 stale_after: timedelta = timedelta(minutes=10)) -> None:
        self.app, self.read, self.channel = app, read, channel
        self.max_failures, self.backoff, self.stale_after = max_failures, backoff, stale_after

    def send_due(self, stopping: threading.Event | None = None, *,
                 leading_since: datetime | None = None) -> Sent:
        """Try every delivery that is due now, once each (until `stopping` is set). A sender
        `leading_since` a moment takes over at once what was being sent before it: the
        sender that began it has lost the lead, so has died."""
        sent = Sent()
        now = self.app.now()
        for row in due_deliveries(self.read.fresh(), now,
                                  cut_off(now, self.stale_after, leading_since)):
            if stopping is not None and stopping.is_set():
                break
            delivery = self.app.begin_attempt(row["id"], self.channel.name,
                                              stale_after=self.stale_after,
                                              leading_since=leading_since,
                                              max_failures=self.max_failures)
            if delivery is None:
                continue   # not due after all, or another sender took it
            try:
                detail = self.channel.send(delivery)
            except DeliveryError as error:
                self._finish(delivery, error=str(error), permanent=error.permanent)
                sent.failed += 1
            except Exception as error:   # a fault of ours: recorded, so it ends up failed
                log.exception("sending %s failed unexpectedly", delivery["id"])
                self._finish(delivery, error=f"内部错误：{type(error).__name__} {error}")
                sent.failed += 1
            else:
                self._finish(delivery, detail=detail)
                sent.delivered += 1
        return sent

    def _finish(self, delivery: dict, **outcome) -> None:
        try:
            self.app.finish_attempt(delivery["id"], delivery["attempts"],
                                    max_failures=self.max_failures, backoff=self.backoff,
                                    **outcome)
        except DomainError as error:   # recorded by nobody: it is retried as a stale send
            log.error("could not record the outcome of %s: %s", delivery["id"], error)
