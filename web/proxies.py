"""Who is asking: the peer's address, or, behind a configured proxy, the address the proxy
says it forwarded for. The answer is the source of sign-in records and of the per-source
sign-in throttle, so an `X-Forwarded-For` header is believed only from a trusted proxy; from
anyone else it is ignored (a client cannot name itself a new source for every guess).

The server's own proxy-header handling is off (uvicorn `proxy_headers=False`); this is the one
place that reads the header.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from starlette.types import ASGIApp, Receive, Scope, Send

Network = IPv4Network | IPv6Network


def networks(listed: str) -> tuple[Network, ...]:
    """`10.0.0.1, 10.1.0.0/16` as networks; ValueError names an entry that is not one."""
    found = []
    for entry in filter(None, (e.strip() for e in listed.split(","))):
        try:
            found.append(ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"不是 IP 地址或网段：{entry}") from None
    return tuple(found)


def is_trusted(address: str, trusted: Iterable[Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def source_of(peer: str, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """The peer, unless it is a trusted proxy: then the right-most address of X-Forwarded-For
    that is not a trusted proxy (each proxy appends whom it heard from, so anything left of
    that the client may have written itself)."""
    if not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for line in forwarded_for for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop, trusted):
            return hop if _is_address(hop) else peer
        peer = hop
    return peer


def _is_address(text: str) -> bool:
    try:
        ip_address(text)
        return True
    except ValueError:
        return False


class ForwardedFor:
    """Sets the request's client to its source (see `source_of`) before anything reads it."""

    def __init__(self, app: ASGIApp, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted and scope.get("client"):
            peer = scope["client"][0]
            forwarded = [value.decode("latin-1") for name, value in scope["headers"]
                         if name == b"x-forwarded-for"]
            source = source_of(peer, forwarded, self.trusted)
            if source != peer:
                scope = {**scope, "client": (source, 0)}
        await self.app(scope, receive, send)
