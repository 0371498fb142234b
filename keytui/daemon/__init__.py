"""The keytui daemon: the service contract (`keytui.service.Vault`) over a Unix socket, where
the kernel says who each caller is (SO_PEERCRED), and the client that speaks to it.

This module stays light (the embedded CLI imports it to learn it is not connected): the client
(httpx) and the server (uvicorn) are imported only when used.
"""

from __future__ import annotations

import os

from keytui.config import ConfigError
from keytui.domain import RuleError

ENV_VAR = "KEYTUI_SOCKET"


class DaemonUnavailable(ConfigError):
    """The daemon cannot be reached or failed; one line, exit 3 on the CLI."""


def socket_path(flag: str | None) -> str | None:
    """The daemon's socket from --socket or $KEYTUI_SOCKET; None: work embedded."""
    return flag or os.environ.get(ENV_VAR) or None


def operator_refused() -> RuleError:
    return RuleError("operator: the keytui daemon knows who you are; --operator is refused when connected",
                     field="operator")


def open_vault(socket_flag: str | None, *, home=None, operator: str | None = None, read_only: bool = False,
               mfa_window_seconds: int = 0, new_demo: bool = False, reader: bool = False):
    """The vault a face uses: the daemon's when a socket is set, else the home's, in process
    (`new_demo` and `reader` are about the embedded clock and connection; a daemon keeps its own)."""
    path = socket_path(socket_flag)
    if path is None:
        from keytui.service import Vault

        return Vault.open(home, operator=operator, read_only=read_only, mfa_window_seconds=mfa_window_seconds,
                          new_demo=new_demo, reader=reader)
    if operator is not None:
        raise operator_refused()
    from keytui.daemon.client import RemoteVault

    return RemoteVault(path, read_only=read_only, mfa_window_seconds=mfa_window_seconds)
