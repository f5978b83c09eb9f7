"""Who is asking (the client address a rate limit counts), and the headers every response
carries.

The client address is the TCP peer unless that peer is one of TUTOR_TRUSTED_PROXIES; only
then is X-Forwarded-For read, right to left, skipping our own proxies, and the first address
not trusted is the client. A client that sends its own X-Forwarded-For straight to the
service is therefore counted by its real address, and one behind our proxy cannot choose the
hop our proxy appended. (uvicorn's own proxy-header rewriting is turned off in `tutor serve`,
so this is the one place the header is believed.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> list[IPNetwork]:
    """TUTOR_TRUSTED_PROXIES entries (addresses or CIDR networks), or ValueError naming one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"TUTOR_TRUSTED_PROXIES: {entry!r} is neither an IP address nor a network "
                             "(write 10.0.0.5 or 10.0.0.0/24)") from None
    return networks


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address, networks: list[IPNetwork]) -> bool:
    return address is not None and any(address in net for net in networks)


def client_address(peer: str | None, forwarded_for: list[str], networks: list[IPNetwork]) -> str:
    """The address to count: the peer, or the nearest untrusted hop it forwarded for."""
    peer = peer or "unknown"
    if not _trusted(_address(peer), networks):
        return peer
    client = peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # garbage left of a trusted hop: the last sound address stands
            return client
        client = str(address)
        if not _trusted(address, networks):
            return client
    return client


def scope_client(scope: dict, networks: list[IPNetwork]) -> str:
    peer = scope.get("client")[0] if scope.get("client") else None
    forwarded = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"]
    return client_address(peer, forwarded, networks)


class SecurityHeaders:
    """Adds `X-Content-Type-Options: nosniff` to every response that does not set it (a JSON
    error must never be sniffed into HTML). Page-specific policies (CSP, framing) are set
    by the routes that serve pages: web.py (demo) and admin.py (dashboard)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-content-type-options" for k, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
