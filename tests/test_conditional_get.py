"""Conditional GET (web/conditional.py): the ticket list and a ticket's page carry an ETag; asked
again with it, nothing changed, they answer 304 with no body; anything a page is drawn from
changing (an event, the day, who asks, a note waiting, htmx asking for a part) gives a 200."""

from __future__ import annotations

from datetime import timedelta

from domain.clock import beijing
from tests.conftest import assign_to_school_a, open_at_school_a
from tests.web_client import Browser

LIST = "/tickets?town=TA&sort=deadline"


def revalidated(browser: Browser, url: str, etag: str, **headers: str):
    return browser.get(url, headers={"If-None-Match": etag, **headers})


def test_a_page_nothing_changed_on_is_answered_304_with_no_body(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    for url in (LIST, f"/tickets/{number}"):
        first = office.get(url)
        etag = first.headers["ETag"]
        assert first.status_code == 200 and etag.startswith('W/"')
        again = revalidated(office, url, etag)
        assert again.status_code == 304 and again.content == b""
        assert again.headers["ETag"] == etag
        assert "private" in again.headers["Cache-Control"]
        assert revalidated(office, url, etag.removeprefix("W/")).status_code == 304   # strong form
        assert revalidated(office, url, f'W/"other", {etag}').status_code == 304      # a list


def test_an_event_the_day_or_another_person_makes_it_another_page(web_app, clock):
    web, app = web_app
    number = open_at_school_a(app)
    office, other_office = Browser(web, "office"), Browser(web, "office")
    etag = office.get(LIST).headers["ETag"]

    assert revalidated(other_office, LIST, etag).status_code == 200      # another session
    assert revalidated(office, LIST, etag, **{"HX-Request": "true"}).status_code == 200
    assert revalidated(office, LIST + "&page=1", etag).status_code == 200

    assign_to_school_a(app, number)                                     # an event
    changed = revalidated(office, LIST, etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    etag = changed.headers["ETag"]
    assert revalidated(office, LIST, etag).status_code == 304

    clock.advance(days=1)                                               # lights move at midnight
    assert revalidated(office, LIST, etag).status_code == 200


def test_a_note_waiting_to_be_said_is_said_not_skipped(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    inspector = Browser(web, "insp")
    url = f"/tickets/{number}"
    etag = inspector.get(url).headers["ETag"]
    said = inspector.post(f"{url}/comment", {"text": "现场已查看"})
    assert said.status_code == 303
    shown = revalidated(inspector, said.headers["location"], etag)
    assert shown.status_code == 200 and "现场已查看" in shown.text


def test_no_etag_for_the_past_nor_for_someone_signed_out(web_app, clock):
    web, app = web_app
    open_at_school_a(app)
    instant = beijing(clock.now()).replace(tzinfo=None) + timedelta(minutes=1)
    clock.advance(hours=1)
    office = Browser(web, "office")
    past = office.get(f"/tickets?as_of={instant.isoformat(sep=' ', timespec='minutes')}")
    assert past.status_code == 200 and "ETag" not in past.headers, past.text[:300]
    etag = office.get(LIST).headers["ETag"]
    stranger = Browser(web)
    answer = stranger.client.get(LIST, headers={"If-None-Match": etag}, follow_redirects=False)
    assert answer.status_code == 303 and "/login" in answer.headers["location"]


def test_a_position_that_is_not_a_number_or_beyond_the_log_is_harmless(web_app):
    """web/positions.py: a forged position cookie or header is ignored, or caught up to the
    log's head at once; the page is drawn either way."""
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    for given in ("abc", "-5", "9" * 40, "99999999999", "<script>"):
        answer = office.get(f"/tickets/{number}", headers={"X-Xiaohao-Position": given})
        assert answer.status_code == 200 and number in answer.text
