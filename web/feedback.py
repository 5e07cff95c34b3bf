"""Feedback where the user is looking (#11): what became of a form is said next to that form.

An htmx request gets the message inside the fragment it swaps in place. A plain POST that
succeeds is answered by a 303 to the page the form is on, at the form's anchor, and that page
draws the message there: `tell` keeps it in the session for that one page, `told` takes it.
A refused plain POST draws the page again, the message beside the form and what was typed in it
(its action carries the anchor, so the browser lands there).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse

KEY = "feedback"
LIMIT = 600     # characters: the session is a signed cookie, which browsers cap at 4 KB


def tell(request: Request, page: str, at: str, text: str) -> RedirectResponse:
    """Go back to `page` at the element `at`, where `text` is said when the page is drawn."""
    request.session[KEY] = {"page": page, "at": at, "text": text[:LIMIT]}
    return RedirectResponse(f"{page}#{at}", status_code=303)


def told(request: Request, page: str | None = None) -> dict | None:
    """What is to be said on `page` (by default the one asked for) as {"at": element id,
    "text": ...}, once; None if nothing."""
    page = page or request.url.path + (f"?{request.url.query}" if request.url.query else "")
    note = request.session.get(KEY)
    if not isinstance(note, dict) or note.get("page") != page:
        return None
    del request.session[KEY]
    return note
