"""Any text a user can type either is stored as typed (normalised) or gets a named error."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from tests.conftest import open_at_school_a

TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from("音乐教室<script>\x00\u200b"),
               max_size=260)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=TEXT, description=TEXT)
def test_titles_are_stored_as_typed_or_refused_by_name(memory_app, title, description):
    before = memory_app.recorder.max_notification_id()
    try:
        number = open_at_school_a(memory_app, title=title, description=description)
    except DomainError as error:
        assert error.message   # a message fit to show
        assert memory_app.recorder.max_notification_id() == before
        return
    stored = memory_app.ticket(number)
    assert stored["title"] == unicodedata.normalize("NFC", title).strip()
    assert 1 <= len(stored["title"]) <= 200
