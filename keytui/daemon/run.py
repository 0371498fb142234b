"""Running the daemon: the socket, and uvicorn serving it (beside the HTTP gateway when asked).

The socket file is made connectable by everyone (0666): each request is authorised by the
caller's uid, not by the file's mode. Its directory is created 0755 if missing; a socket a
live daemon still answers on is never taken over, a stale one is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import stat
from pathlib import Path

import uvicorn

from keytui.domain import RuleError
from keytui.service import Context

GRACEFUL_SHUTDOWN_S = 30


class _Server(uvicorn.Server):
    """A uvicorn server that leaves the signals to `serve_all`, so two can share one process."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def answers(path: str) -> bool:
    """Does something accept connections on the Unix socket at `path`?"""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def check_socket_path(path: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if not target.exists() and not target.is_symlink():
        return
    if not stat.S_ISSOCK(target.lstat().st_mode):
        raise RuleError(f"socket: {path} exists and is not a socket; choose another path", field="socket")
    if answers(path):
        raise RuleError(f"socket: a keytui daemon already answers at {path}", field="socket")
    target.unlink()  # a stale socket from a daemon that died


def daemon_config(path: str, home) -> tuple[uvicorn.Config, object]:
    from keytui.daemon.server import Daemon, create_app

    daemon = Daemon(Context.open(home))
    config = uvicorn.Config(create_app(daemon), uds=path, http="keytui.daemon.peer:PeerCredProtocol",
                            proxy_headers=False, access_log=False, server_header=False, log_level="info",
                            lifespan="off", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    return config, daemon


def serve_all(configs: list[uvicorn.Config]) -> None:
    """Serve every config in one event loop; SIGTERM/SIGINT stop them all gracefully."""
    servers = [_Server(c) for c in configs]

    async def main():
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: [setattr(s, "should_exit", True) for s in servers])
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(main())


def serve_socket(path: str, home, gateway: uvicorn.Config | None = None) -> None:
    check_socket_path(path)
    config, daemon = daemon_config(path, home)
    try:
        serve_all([config] + ([gateway] if gateway else []))
    finally:
        daemon.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
