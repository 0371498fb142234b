"""`keytui serve`: the verification gateway on uvicorn.

The command checks its options and opens the database once (so a bad home, master key or
schema fails here with one line, before any worker starts), then hands over to uvicorn.
uvicorn's own proxy-header handling is switched off: forwarding headers are judged by the
gateway against --trusted-proxy, and its access log (which prints query strings) is replaced
by the gateway's own line.
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path

from keytui import keyfile
from keytui.cli.common import EXIT_OK
from keytui.domain import RuleError
from keytui.gateway import leakreports
from keytui.gateway.options import ENV_VAR, MAX_WORKERS, GatewayOptions, check_number

GATEWAY_APP = "keytui.gateway.app:create_app"
GRACEFUL_SHUTDOWN_S = 30  # a stop waits this long for requests in flight (ours end within the commit timeout)


def register(sub, parent) -> None:
    p = sub.add_parser("serve", parents=[parent],
                       help="HTTP verification gateway (POST /v1/keys/verify, GET /v1/auth); with --socket the daemon")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: loopback only)")
    p.add_argument("--port", type=int, default=None,
                   help="TCP port of the gateway (default 8700; with --socket only when given)")
    p.add_argument("--workers", type=int, default=1, help=f"worker processes (1-{MAX_WORKERS}, default 1)")
    p.add_argument("--trusted-proxy", action="append", default=[], metavar="CIDR",
                   help="believe X-Forwarded-For / X-Real-IP only from these peers (repeat; default none)")
    p.add_argument("--fail-limit", type=int, default=20,
                   help="bad tokens from one address that start a cooling period (0 turns it off; default 20)")
    p.add_argument("--fail-window", type=float, default=60.0, metavar="S",
                   help="seconds within which the bad tokens count (default 60)")
    p.add_argument("--cooldown", type=float, default=300.0, metavar="S",
                   help="seconds an address is answered 429 (default 300)")
    p.add_argument("--leak-report-keys", metavar="FILE",
                   help="enable POST /v1/leaks: the public keys (GitHub's listing format) that sign leak reports")
    p.add_argument("--request-timeout", type=float, default=10.0, metavar="S",
                   help="a request's head, then its body, must arrive within S seconds (default 10)")
    p.add_argument("--idle-timeout", type=float, default=5.0, metavar="S",
                   help="close a keep-alive connection idle for S seconds (default 5)")
    p.add_argument("--max-connections", type=int, default=1000, metavar="N",
                   help="connections per worker (default 1000; kept below the file limit)")
    p.add_argument("--max-pending", type=int, default=10_000, metavar="N",
                   help="requests per worker that may wait for the activity log; more get 503 at once")
    p.add_argument("--keyring", metavar="FILE",
                   help="run on a verify-only keyring (keytui keyring export --verify-only) instead of the master "
                        "key: verifies and records, cannot decrypt a token or change anything")
    p.add_argument("--access-log", action="store_true",
                   help="a line per request on stderr (off by default: every verification is in the activity log)")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args) -> int:
    import uvicorn

    from keytui.gateway.protocol import accept_batch, raise_fd_limit

    socket_path = getattr(args, "socket", None)  # --socket only: $KEYTUI_SOCKET is where clients connect
    if args.port is None and not socket_path:
        args.port = 8700
    if args.port is not None:
        check_number("port", args.port, 1, 65535)
    check_number("workers", args.workers, 1, MAX_WORKERS)
    if socket_path and args.workers > 1:
        raise RuleError("serve: --workers above 1 is for the gateway alone; run the daemon (--socket) apart")
    check_number("fail-limit", args.fail_limit, 0)
    check_number("fail-window", args.fail_window, 0.001)
    check_number("cooldown", args.cooldown, 0)
    check_number("request-timeout", args.request_timeout, 0.1, 3600)
    check_number("idle-timeout", args.idle_timeout, 0.1, 3600)
    check_number("max-connections", args.max_connections, 1)
    check_number("max-pending", args.max_pending, 1)
    if args.read_only:
        raise RuleError("serve: the gateway records every verification; it cannot run --read-only")
    if args.keyring:
        _use_keyring(args)
    options = GatewayOptions(home=args.home, trusted_proxies=tuple(args.trusted_proxy), fail_limit=args.fail_limit,
                             fail_window_s=args.fail_window, cooldown_s=args.cooldown,
                             access_log=args.access_log, leak_report_keys=_leak_keys(args.leak_report_keys),
                             request_timeout_s=args.request_timeout, idle_timeout_s=args.idle_timeout,
                             max_connections=args.max_connections, max_pending=args.max_pending)
    from keytui.service import Vault

    Vault.open(args.home).close()
    os.environ[ENV_VAR] = options.to_env()
    files = raise_fd_limit()
    gateway = dict(factory=True, host=args.host, port=args.port, http="keytui.gateway.protocol:GuardedHTTPProtocol",
                   proxy_headers=False, access_log=False, server_header=False, log_level="info",
                   timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, timeout_keep_alive=args.idle_timeout,
                   backlog=accept_batch(files))
    if socket_path:
        from keytui.daemon.run import serve_socket

        serve_socket(socket_path, args.home, uvicorn.Config(GATEWAY_APP, **gateway) if args.port else None)
        return EXIT_OK
    with stop_signals_end_cleanly():
        uvicorn.run(GATEWAY_APP, workers=args.workers, **gateway)
    return EXIT_OK


def _use_keyring(args) -> None:
    """Checked here (one line if it is not a keyring file); every worker reads it again through
    KEYTUI_KEYRING, which keytui's opening honours in place of the master key."""
    if args.leak_report_keys:
        raise RuleError("serve: --leak-report-keys revokes keys, which a --keyring (verify-only) host cannot do")
    path = os.path.abspath(args.keyring)
    keyfile.read(Path(path))
    os.environ[keyfile.ENV_VAR] = path


def _leak_keys(path: str | None) -> str | None:
    """Checked here, so a bad key file fails with one line before any worker starts; each worker
    loads it again by its absolute path."""
    if path is None:
        return None
    leakreports.load_keys(path)
    return os.path.abspath(path)


@contextmanager
def stop_signals_end_cleanly():
    """uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-sends the signal to the handler
    that was there before it; with this one in place that ends the process with exit code 0,
    which is what service managers expect from a clean stop."""
    stops = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
