"""Sending what the runs queued: each due delivery is claimed (an Attempted event, so two
senders never both send it), drawn as mail, handed to the channel, and its outcome recorded."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from email.errors import MessageError

from domain.application import XiaohaoApp
from domain.errors import DomainError
from projections.readmodels import ReadModels
from projections.runs import due_deliveries
from scheduler.channels import DeliveryError, MaildirOutbox, Smtp, Webhook
from scheduler.mail import compose

log = logging.getLogger("xiaohao.scheduler")


@dataclass
class Sent:
    delivered: int = 0
    failed: int = 0


class Sender:
    def __init__(self, app: XiaohaoApp, read: ReadModels, channel, *, sender: str,
                 max_failures: int = 5, backoff: timedelta = timedelta(minutes=1),
                 stale_after: timedelta = timedelta(minutes=10)) -> None:
        self.app, self.read, self.channel, self.sender = app, read, channel, sender
        self.max_failures, self.backoff, self.stale_after = max_failures, backoff, stale_after

    @classmethod
    def from_settings(cls, app: XiaohaoApp, read: ReadModels, settings) -> Sender:
        return cls(app, read, channel_from(settings), sender=settings.mail_from,
                   max_failures=settings.delivery_max_failures,
                   backoff=timedelta(seconds=settings.delivery_backoff_seconds))

    def send_due(self, stopping: threading.Event | None = None) -> Sent:
        """Try every delivery that is due now, once each (until `stopping` is set)."""
        sent = Sent()
        now = self.app.now()
        for row in due_deliveries(self.read.fresh(), now, now - self.stale_after):
            if stopping is not None and stopping.is_set():
                break
            delivery = self.app.begin_attempt(row["id"], self.channel.name,
                                              stale_after=self.stale_after,
                                              max_failures=self.max_failures)
            if delivery is None:
                continue   # not due after all, or another sender took it
            try:
                detail = self.channel.send(self._compose(delivery), delivery)
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

    def _compose(self, delivery: dict):
        try:
            return compose(delivery, self.sender)
        except (ValueError, TypeError, MessageError) as error:
            raise DeliveryError(f"邮件无法生成（收件人地址或内容不合格式）：{error}",
                                permanent=True) from None

    def _finish(self, delivery: dict, **outcome) -> None:
        try:
            self.app.finish_attempt(delivery["id"], delivery["attempts"],
                                    max_failures=self.max_failures, backoff=self.backoff,
                                    **outcome)
        except DomainError as error:   # recorded by nobody: it is retried as a stale send
            log.error("could not record the outcome of %s: %s", delivery["id"], error)


def channel_from(settings):
    if settings.mail_channel == "smtp":
        return Smtp(settings.smtp_host, settings.smtp_port, settings.smtp_security,
                    settings.smtp_user, settings.smtp_password, settings.delivery_timeout_seconds,
                    settings.smtp_ca_file)
    if settings.mail_channel == "webhook":
        return Webhook(settings.webhook_url, settings.webhook_format,
                       settings.delivery_timeout_seconds)
    return MaildirOutbox(settings.outbox_dir)
