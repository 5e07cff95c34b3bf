"""Where deliveries go: a local Maildir (the default, shown as 发件箱), an SMTP server, or a
webhook (plain JSON, or the markdown of a WeCom or DingTalk group robot). Each is a
scheduler.sender.Channel: it either returns a line saying what took the message, or raises
DeliveryError."""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from email.errors import MessageError
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from scheduler.sender import DeliveryError
from xiaohao.adapters.mail import bodies, compose


def _mail(delivery: dict, sender: str) -> EmailMessage:
    try:
        return compose(delivery, sender)
    except (ValueError, TypeError, MessageError) as error:
        raise DeliveryError(f"邮件无法生成（收件人地址或内容不合格式）：{error}",
                            permanent=True) from None


class MaildirOutbox:
    """Messages written into a Maildir's new/, named by delivery: a second attempt of the same
    delivery replaces its file instead of adding another."""

    name = "outbox"

    def __init__(self, path: Path, sender: str) -> None:
        self.path, self.sender = path, sender
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)

    def send(self, delivery: dict) -> str:
        message = _mail(delivery, self.sender)
        name = f"{delivery['id']}.eml"
        aside = self.path / "tmp" / name
        try:
            with open(aside, "wb") as out:
                out.write(message.as_bytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(aside, self.path / "new" / name)
        except OSError as error:
            raise DeliveryError(f"无法写入发件箱 {self.path}：{error.strerror}") from None
        return f"outbox:{name}"


class Smtp:
    name = "smtp"

    def __init__(self, host: str, port: int, security: str, user: str, password: str,
                 timeout: float, sender: str, ca_file: str = "") -> None:
        self.host, self.port, self.security, self.sender = host, port, security, sender
        self.user, self.password, self.timeout = user, password, timeout
        self.ca_file = ca_file    # a county's own CA, when its mail server's certificate is not public

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def send(self, delivery: dict) -> str:
        if not delivery["recipient"].get("address"):
            raise DeliveryError("收件人没有登记邮箱地址", permanent=True)
        message = _mail(delivery, self.sender)
        try:
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                          context=self._tls())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.security == "starttls":
                    client.starttls(context=self._tls())
                if self.user:
                    client.login(self.user, self.password)
                refused = client.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP {self.host}:{self.port}：{error}") from None
        if refused:
            raise DeliveryError(f"SMTP 拒收：{refused}")
        return f"smtp:{self.host}:{self.port}"


# What a group robot takes in one markdown message, in UTF-8 bytes (WeCom answers 40058 over
# 4096; DingTalk allows about 20,000).
ROBOT_LIMITS = {"wecom": 4000, "dingtalk": 19000}
CUT = "\n\n……（内容过长，完整内容请登录问题销号系统查看）"


def within(text: str, limit: int) -> str:
    """`text` cut to `limit` UTF-8 bytes at a character boundary, saying so when cut."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit - len(CUT.encode())].decode(errors="ignore") + CUT


# What lets a robot's markdown make a link, an image, a tag or any markup, and the full-width
# forms that read the same to a Chinese reader and make nothing.
MARKUP = str.maketrans("[]()<>*_`#~|!\\", "［］（）＜＞＊＿｀＃～｜！＼")
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9/.:?=&%+@_~-]*")


def plain_markdown(text: str, own_url: str) -> str:
    """`text` as a robot's markdown shows it and nothing more: no link, image or markup can be
    made from what users typed (a title like "[点此](http://…)"). Links to the system itself
    (`own_url`) stay as they are; any other address loses its "://", so no robot makes a link
    of it."""
    out, at = [], 0
    for url in URL.finditer(text):
        out.append(text[at:url.start()].translate(MARKUP))
        link = url.group()
        out.append(link if own_url and link.startswith(own_url) else
                   link.replace("://", "：//").translate(MARKUP))
        at = url.end()
    out.append(text[at:].translate(MARKUP))
    return "".join(out)


class Webhook:
    name = "webhook"

    def __init__(self, url: str, format: str, timeout: float, own_url: str = "") -> None:
        self.url, self.format, self.timeout = url, format, timeout
        self.own_url = own_url.rstrip("/") + "/" if own_url else ""
        parts = urlsplit(url)
        self.shown = f"{parts.scheme}://{parts.netloc}{parts.path}"   # robots' keys ride in the query

    def body(self, delivery: dict) -> dict:
        text, _ = bodies(delivery)
        if self.format in ROBOT_LIMITS:
            subject = plain_markdown(delivery["subject"], "")
            text = plain_markdown(text, self.own_url)
        if self.format == "wecom":
            content = within(f"**{subject}**\n\n{text}", ROBOT_LIMITS["wecom"])
            return {"msgtype": "markdown", "markdown": {"content": content}}
        if self.format == "dingtalk":
            content = within(f"### {subject}\n\n{text}", ROBOT_LIMITS["dingtalk"])
            return {"msgtype": "markdown", "markdown": {"title": subject, "text": content}}
        return {"message_id": delivery["message_id"], "subject": delivery["subject"],
                "recipient": delivery["recipient"], "text": text,
                "kind": delivery["kind"], "period": delivery["period"],
                "payload": delivery["payload"]}

    def send(self, delivery: dict) -> str:
        try:
            answer = httpx.post(self.url, json=self.body(delivery),
                                timeout=self.timeout,
                                headers={"Idempotency-Key": delivery["message_id"]})
        except httpx.HTTPError as error:
            reason = str(error).replace(self.url, self.shown)
            raise DeliveryError(f"webhook {self.shown}：{type(error).__name__} {reason}") from None
        if answer.status_code >= 300:
            raise DeliveryError(f"webhook {self.shown} 回答 {answer.status_code}")
        if self.format in ("wecom", "dingtalk"):   # robots answer 200 with an errcode
            try:
                code = answer.json().get("errcode", 0)
            except ValueError:
                code = "无法解析的回答"
            if code != 0:
                raise DeliveryError(f"群机器人回答错误：{str(code)[:100]}")
        return f"webhook:{answer.status_code}"
