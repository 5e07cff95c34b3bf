"""A delivery drawn as mail: multipart plain text + HTML (styles inline, tables and a bar chart
without script or image), with the delivery's own Message-ID on every attempt. The web's 发件箱
shows the same drawing (`bodies`)."""

from __future__ import annotations

from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.clock import beijing
from domain.periods import Week, day_label, moment_label

TEMPLATES = Path(__file__).parent / "mail_templates"
_html = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                    undefined=StrictUndefined)
_text = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False,
                    undefined=StrictUndefined, keep_trailing_newline=True)
for _env in (_html, _text):     # a week as a person reads it, not its ISO code
    _env.filters["week_words"] = lambda week: Week.parse(str(week)).words
    _env.filters["cn_day"] = lambda day: day_label(date.fromisoformat(str(day)[:10]),
                                                    year=True) if day else ""
    _env.filters["cn_moment"] = lambda at: moment_label(datetime.fromisoformat(str(at)),
                                                        year=True)


def bodies(delivery: dict) -> tuple[str, str]:
    """The delivery's plain text and HTML."""
    payload = delivery["payload"]
    recipient = delivery["recipient"]
    context = {**payload, "payload": payload, "name": recipient["name"],
               "salute": salutation(recipient)}
    return (_text.get_template(f"{payload['kind']}.txt").render(context),
            _html.get_template(f"{payload['kind']}.html").render(context))


def salutation(recipient: dict) -> str:
    """How a message greets its reader, one style throughout: a person "陈兴成同志", a unit
    without a head by its name."""
    name = recipient["name"] or "未登记姓名"
    return f"{name}同志" if recipient.get("person_id") else name


def one_line(text: str | None) -> str:
    """Header text on one line: a name typed with a line break must not break the mail."""
    return " ".join(str(text or "").split())


def compose(delivery: dict, sender: str) -> EmailMessage:
    """The mail; a recipient's address that is not one is a ValueError."""
    text, html = bodies(delivery)
    recipient = delivery["recipient"]
    name = one_line(recipient["name"]) or "未登记姓名"
    message = EmailMessage()
    message["Subject"] = one_line(delivery["subject"])
    message["From"] = sender
    message["To"] = Address(name, addr_spec=recipient["address"]) if recipient.get("address") \
        else Address(name)
    message["Date"] = format_datetime(beijing(delivery["queued_at"]))
    message["Message-ID"] = delivery["message_id"]
    message["X-Xiaohao-Delivery"] = delivery["id"]
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
