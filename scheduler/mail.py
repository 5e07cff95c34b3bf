"""A delivery drawn as mail: multipart plain text + HTML (styles inline, tables and a bar chart
without script or image), with the delivery's own Message-ID on every attempt."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.clock import beijing

_html = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                    autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
_text = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                    autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)


def bodies(delivery: dict) -> tuple[str, str]:
    """The delivery's plain text and HTML."""
    payload = delivery["payload"]
    context = {**payload, "name": delivery["recipient"]["name"]}
    return (_text.get_template(f"{payload['kind']}.txt").render(context),
            _html.get_template(f"{payload['kind']}.html").render(context))


def compose(delivery: dict, sender: str) -> EmailMessage:
    text, html = bodies(delivery)
    recipient = delivery["recipient"]
    message = EmailMessage()
    message["Subject"] = delivery["subject"]
    message["From"] = sender
    if recipient.get("address"):
        message["To"] = Address(recipient["name"], addr_spec=recipient["address"])
    else:
        message["To"] = Address(recipient["name"] or "未登记邮箱")
    message["Date"] = format_datetime(beijing(delivery["queued_at"]))
    message["Message-ID"] = delivery["message_id"]
    message["X-Xiaohao-Delivery"] = delivery["id"]
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
