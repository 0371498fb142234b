"""uvicorn's HTTP protocol (httptools when installed, else h11) with TCP_NODELAY on every
connection.

asyncio sets TCP_NODELAY only on sockets whose protocol number says TCP; the listening
socket uvicorn binds itself for --workers N > 1 has protocol 0, so its connections kept
Nagle's algorithm on, and a response written as headers then body waited for the client's
delayed ACK: 40 ms on every request.
"""

from __future__ import annotations

import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
