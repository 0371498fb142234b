"""Whose address a request carries: the socket peer, unless the peer is a trusted proxy.

Forwarding headers are written by whoever sends them, so they are believed only from the
proxies named with --trusted-proxy. X-Forwarded-For is read from the right (the hop our proxy
added) past further trusted hops; anything unparsable stops the walk at the last trusted hop,
so a garbled header can never widen what an IP allowlist lets through. A hop may carry a port
(`203.0.113.7:5123`, `[2001:db8::7]:443`), as some proxies write it; a zone id or any other text
is not an address.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from keytui.domain import address

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
BRACKETED = re.compile(r"\[([^\]]*)\](?::[0-9]{1,5})?")
V4_WITH_PORT = re.compile(r"([0-9.]+):[0-9]{1,5}")


def parse_address(text: str | None) -> Address | None:
    if not text:
        return None
    text = text.strip()
    bracketed = BRACKETED.fullmatch(text)
    if bracketed:
        text = bracketed.group(1)
    else:
        with_port = V4_WITH_PORT.fullmatch(text)
        if with_port:
            text = with_port.group(1)
    addr = address(text)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: Address, networks: tuple) -> bool:
    return any(addr.version == net.version and addr in net for net in networks)


@lru_cache(maxsize=4096)  # a gateway sees the same few peers (its proxies) over and over
def client_ip(peer: str | None, forwarded_for: str | None, real_ip: str | None, networks: tuple) -> str | None:
    addr = parse_address(peer)
    if addr is None:
        return None
    if not networks or not _trusted(addr, networks):
        return str(addr)
    if forwarded_for:
        for hop in reversed(forwarded_for.split(",")):
            hop_addr = parse_address(hop)
            if hop_addr is None:
                break
            addr = hop_addr
            if not _trusted(hop_addr, networks):
                break
        return str(addr)
    real = parse_address(real_ip)
    return str(real) if real is not None else str(addr)
