"""Who is calling: the kernel's word for each connection on the Unix socket (SO_PEERCRED).

Like PostgreSQL's peer authentication: the daemon never takes a name from the request. The
uid the kernel reports for the connecting process is mapped to its user name, and every
request on that connection is authorised as that user.
"""

from __future__ import annotations

import pwd
import socket
import struct
from dataclasses import dataclass

from uvicorn.protocols.http.auto import AutoHTTPProtocol

SCOPE_KEY = "keytui.peer"


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int

    @property
    def user(self) -> str | None:
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:  # a uid with no passwd entry has no name to hold a role
            return None


def peer_of(sock) -> Peer | None:
    if sock is None or sock.family != socket.AF_UNIX:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return Peer(*struct.unpack("3i", raw))


class PeerCredProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol, one instance per connection, that puts the connection's peer
    credentials into every request's scope (None when the socket is not a Unix socket)."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        peer = peer_of(transport.get_extra_info("socket"))
        app = self.app

        async def with_peer(scope, receive, send):
            scope[SCOPE_KEY] = peer
            await app(scope, receive, send)

        self.app = with_peer
