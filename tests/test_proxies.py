"""X-Forwarded-For is believed only from the proxies in XIAOHAO_TRUSTED_PROXIES (#12): from any
other peer it is ignored, so a client cannot name itself a new source for every guess."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from domain.account import account_id
from domain.signing_in import SOURCE_FAILURES
from tests.conftest import PASSWORD, seed_small_county, served, settings_for
from tests.web_client import page
from web.proxies import networks, source_of

PROXIES = networks("10.0.0.1, 192.168.5.0/24, ::1")


@pytest.mark.parametrize("peer, forwarded, source", [
    ("203.0.113.9", [], "203.0.113.9"),
    ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),                 # not a proxy: ignored
    ("10.0.0.1", [], "10.0.0.1"),
    ("10.0.0.1", ["1.2.3.4"], "1.2.3.4"),
    ("10.0.0.1", ["6.6.6.6, 1.2.3.4"], "1.2.3.4"),               # the client wrote the first
    ("10.0.0.1", ["6.6.6.6", "1.2.3.4, 192.168.5.7"], "1.2.3.4"),  # two proxies, two lines
    ("10.0.0.1", ["192.168.5.7"], "192.168.5.7"),                # only proxies: the farthest
    ("10.0.0.1", ["not-an-ip"], "10.0.0.1"),
    ("::1", ["2001:db8::5"], "2001:db8::5"),
])
def test_the_source_is_the_right_most_address_no_trusted_proxy_added(peer, forwarded, source):
    assert source_of(peer, forwarded, PROXIES) == source


def test_a_trusted_proxy_that_is_not_an_address_is_refused_at_start(tmp_path):
    with pytest.raises(ValidationError, match="不是 IP 地址或网段：proxy.local"):
        settings_for("memory", tmp_path, trusted_proxies="10.0.0.1, proxy.local")


def sign_in(client: httpx.Client, login: str, password: str, forwarded_for: str) -> httpx.Response:
    token = page(client.get("/login")).select_one('input[name="csrf_token"]')["value"]
    return client.post("/login", data={"login": login, "password": password, "csrf_token": token},
                       headers={"X-Forwarded-For": forwarded_for})


def sources_of(app, login: str) -> list[str]:
    return [e.source for e in app.events.get(account_id(login)) if hasattr(e, "source")]


def test_a_spoofed_header_from_an_untrusted_peer_changes_nothing(tmp_path, clock):
    settings = settings_for("sqlite", tmp_path)          # no trusted proxies
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    with served(settings, app) as base, httpx.Client(base_url=base) as client:
        for n in range(SOURCE_FAILURES):
            assert sign_in(client, "insp", "guess-guess", f"198.51.100.{n}").status_code == 400
        # A fresh address per guess does not dodge the throttle: the peer is the source.
        refused = sign_in(client, "insp", PASSWORD, "198.51.100.200")
        assert refused.status_code == 429
        assert "尝试过于频繁" in page(refused).select_one(".error").text
    assert set(sources_of(app, "insp")[-5:]) == {"127.0.0.1"}
    app.close()


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_source(tmp_path, clock):
    settings = settings_for("sqlite", tmp_path, trusted_proxies="127.0.0.1")
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    with served(settings, app) as base, httpx.Client(base_url=base) as client:
        for _ in range(5):
            sign_in(client, "insp", "guess-guess", "6.6.6.6, 198.51.100.7")
        locked = sign_in(client, "insp", PASSWORD, "198.51.100.7")
        assert locked.status_code == 400                  # locked for that source only
        assert sign_in(client, "insp", PASSWORD, "198.51.100.8").status_code == 303
    assert sources_of(app, "insp")[-2:] == ["198.51.100.7", "198.51.100.8"]
    app.close()
