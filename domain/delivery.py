"""A digest, reminder or notice on its way to one person, kept as events: queued with the
run (or, for a notice, the ticket's event) that made it, then attempted, delivered, or failed
and retried with backoff, until it fails for good and waits for the office's 重发. Its id (and
so its Message-ID) comes from the run (or event) and the recipient: the same message is never
queued twice, and a retry after a crash mid-send carries the same Message-ID."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

DELIVERY_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/delivery")
NOTICE_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/notice")
# "held": a notice kept for its recipient's daily digest (never sent alone); "gathered" is how
# the outbox shows it once that digest has been queued (projections/runs.py).
# "unsigned": a bulletin's digest waiting for the office to 签发 the bulletin (then "queued").
STATES = {"queued": "待发送", "sending": "发送中", "delivered": "已送达", "failed": "发送失败",
          "held": "待汇总", "gathered": "已汇总", "unsigned": "待签发", "withdrawn": "已撤回"}
# What sent a message: a bulletin's digests, a day's reminders (and digests of notices), or a
# ticket event's notice.
KINDS = {"bulletin": "周通报", "reminders": "每日提醒", "notice": "即时通知"}
# The channels a message leaves through, as a record says them.
CHANNELS = {"outbox": "本地发件箱", "smtp": "邮件服务器（SMTP）", "webhook": "网络推送（Webhook）"}
# A delivery's record, step by step, in words (each step's detail: the channel, the error).
STEPS = {"Queued": "加入发件箱", "Attempted": "开始发送", "Delivered": "已送达",
         "AttemptFailed": "发送失败", "Requeued": "重新排队", "Withdrawn": "撤回"}


def cut_off(now: datetime, stale_after: timedelta, since: datetime | None = None) -> datetime:
    """An attempt still `sending` that began at or before this moment was cut off (its sender
    stopped mid-send): one begun longer than `stale_after` ago, or, for a sender that took
    the lead `since` then, any begun before it took it (only the leader sends)."""
    return max(now - stale_after, since) if since is not None else now - stale_after


def delivery_id(run: UUID, recipient_key: str) -> UUID:
    return uuid5(DELIVERY_NAMESPACE, f"{run}|{recipient_key}")


def event_key(originator_id: UUID, version: int) -> UUID:
    """What a notice's delivery is keyed by in place of a run: the event that made it. With
    the recipient's key it gives the delivery's id, so an event tells each person once,
    however many followers read it, however often."""
    return uuid5(NOTICE_NAMESPACE, f"{originator_id}|{version}")


def message_id(county_code: str, kind: str, period: str, recipient_key: str) -> str:
    """A stable Message-ID per (period, recipient): the same on every retry. The key is
    readable where it is ASCII and told apart by its hash where it is not (一中, 二中)."""
    readable = re.sub(r"[^A-Za-z0-9.-]", "-", f"{kind}.{period}.{recipient_key}")
    digest = hashlib.sha256(recipient_key.encode()).hexdigest()[:10]
    domain = re.sub(r"[^a-z0-9-]", "-", county_code.lower()) or "county"
    return f"<{readable}.{digest}@{domain}.xiaohao>"


class Delivery(Aggregate):
    @staticmethod
    def create_id(run: UUID, recipient: dict, **_: object) -> UUID:
        return delivery_id(run, recipient["key"])

    @event("Queued")
    def __init__(self, run: UUID, recipient: dict, kind: str, period: str, subject: str,
                 message_id: str, payload: dict, timestamp: datetime,
                 held: bool = False, until_signed: bool = False) -> None:
        """`run`: the run that queued it, or for a notice the event's key (`event_key`);
        `held`: kept for the recipient's daily digest instead of being sent; `until_signed`:
        a bulletin's digest, sent once the office has signed the bulletin (签发)."""
        self.run = run
        self.recipient = recipient      # key, name, address (or None), role
        self.kind = kind
        self.period = period
        self.subject = subject
        self.message_id = message_id
        self.payload = payload
        self.state = "held" if held else "queued"
        self.until_signed = until_signed
        self.attempts = 0
        self.failures = 0               # since it was queued or last requeued by the office
        self.next_attempt_at = timestamp
        self.attempt_started_at: datetime | None = None
        self.last_error = ""

    @event("Attempted")
    def attempt(self, channel: str, timestamp: datetime) -> None:
        self.state = "sending"
        self.attempts += 1
        self.attempt_started_at = timestamp

    @event("Delivered")
    def delivered(self, channel: str, detail: str, timestamp: datetime) -> None:
        self.state = "delivered"
        self.last_error = ""

    @event("AttemptFailed")
    def attempt_failed(self, error: str, retry_at: datetime | None, timestamp: datetime) -> None:
        self.failures += 1
        self.last_error = error
        self.state = "queued" if retry_at else "failed"
        self.next_attempt_at = retry_at

    @event("Requeued")
    def requeue(self, by: str, timestamp: datetime) -> None:
        self.state = "queued"
        self.failures = 0
        self.next_attempt_at = timestamp

    @event("Withdrawn")
    def withdraw(self, reason: str, timestamp: datetime) -> None:
        """Not to be sent after all: what it says is no longer so (a 签发提醒 for a bulletin
        signed meanwhile)."""
        self.state = "withdrawn"
        self.last_error = reason

    def as_dict(self) -> dict:
        return {"id": str(self.id), "kind": self.kind, "period": self.period,
                "recipient": self.recipient, "subject": self.subject,
                "message_id": self.message_id, "payload": self.payload, "state": self.state,
                "attempts": self.attempts, "failures": self.failures,
                "last_error": self.last_error, "queued_at": self.created_on,
                "version": self.version}
