"""`RemoteVault`: the `Vault` contract spoken to a keytui daemon over its Unix socket.

The CLI and the console take either one (`keytui.daemon.open_vault` picks): every
method of the contract is here with the same arguments, values come back as the same view
types, and refusals are raised as the same exceptions. The client never reads the master key
or opens the database; who it is, is the kernel's business (SO_PEERCRED on the daemon's side).
"""

from __future__ import annotations

import functools
from typing import TextIO

import httpx

from keytui.daemon import DaemonUnavailable, codec, operator_refused
from keytui.daemon.errors import raise_error
from keytui.daemon.sessions import SessionExpired
from keytui.domain import RuleError
from keytui.service import Vault, roles, watch

TIMEOUT = httpx.Timeout(600.0, connect=5.0)  # a demo build or an org policy over 100k keys takes a while


class RemoteVault:
    """A client of the daemon, acting as whoever runs it (as a viewer with read_only)."""

    settings = None  # the home is the daemon's: the client knows nothing of it
    connected = True

    def __init__(self, path: str, *, read_only: bool = False, mfa_window_seconds: int = 0):
        self.path = path
        self.mfa_window_seconds = mfa_window_seconds
        headers = {"x-keytui-read-only": "1"} if read_only else {}
        self.http = httpx.Client(transport=httpx.HTTPTransport(uds=path), base_url="http://keytui",
                                 headers=headers, timeout=TIMEOUT)
        self.session: str | None = None
        self._identity = self._open_session() if mfa_window_seconds else None

    # ------------------------------------------------------------------ who
    @property
    def identity(self) -> dict:
        """The daemon's word on who this client is (asked once, when first needed)."""
        if self._identity is None:
            self._identity = self.call("whoami")
        return self._identity

    @property
    def operator(self) -> str:
        return self.identity["user"]

    @property
    def role(self) -> str:
        return self.identity["role"]

    @property
    def home_kind(self) -> str | None:
        return self.identity.get("home_kind")

    @property
    def read_only(self) -> bool:
        """Never: connected, --read-only makes the daemon treat the client as a viewer, and the
        role is what the console hides actions by and the daemon refuses by."""
        return False

    def as_operator(self, operator: str) -> "RemoteVault":
        raise operator_refused()

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ the wire
    def _post(self, url: str, body: dict):
        headers = {"x-keytui-session": self.session} if self.session else {}
        try:
            answer = self.http.post(url, json=body, headers=headers)
            data = answer.json()
        except httpx.TransportError as exc:
            raise DaemonUnavailable(f"cannot reach the keytui daemon at {self.path}: {_reason(exc)}") from None
        except ValueError:
            raise DaemonUnavailable(f"{self.path} did not answer like a keytui daemon") from None
        if not isinstance(data, dict):
            raise DaemonUnavailable(f"{self.path} did not answer like a keytui daemon")
        if "error" in data:
            raise_error(data["error"])
        return codec.decode(data.get("result"), codec.RESULT_TYPES) if "result" in data else data

    def _open_session(self) -> dict:
        self.session = None
        found = self._post("/v1/session", {"mfa_window_seconds": self.mfa_window_seconds})
        self.session = found.pop("session")
        return found

    def call(self, method: str, *args, **kwargs):
        body = {"args": codec.encode(list(args)), "kwargs": codec.encode(kwargs)}
        try:
            return self._post(f"/v1/call/{method}", body)
        except SessionExpired:
            if not self.session:
                raise
            self._identity = self._open_session()  # the daemon restarted: a new session, MFA window closed
            return self._post(f"/v1/call/{method}", body)

    # ------------------------------------------------------------------ what works differently remotely
    def export_registry(self, fmt: str, out: TextIO, *, key_filter=None, destination: str = "") -> int:
        """The daemon renders and audits the export; the client writes it where it was asked to."""
        count, text = self.export_text(fmt, key_filter=key_filter, destination=destination)
        out.write(text)
        return count

    def watch_loop(self, **kwargs) -> int:
        return watch.repeat_passes(self.run_watch_pass, **kwargs)

    def export_verify_only_keyring(self, path: str) -> str:
        raise RuleError("keyring export: run it on the home's own host, not through the daemon")

    def copy_database(self, url: str) -> dict:
        raise RuleError("db copy: run it on the home's own host, not through the daemon")


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "No such file" in text:
        return "no socket there (is `keytui serve --socket` running?)"
    if "Connection refused" in text:
        return "nothing is listening (is `keytui serve --socket` running?)"
    if "Permission denied" in text:
        return "permission denied (the socket or its directory is not open to you)"
    return text or type(exc).__name__


def _remote(name: str):
    @functools.wraps(getattr(Vault, name))
    def method(self, *args, **kwargs):
        return self.call(name, *args, **kwargs)

    return method


for _name in roles.REQUIRED:
    if not hasattr(RemoteVault, _name):
        setattr(RemoteVault, _name, _remote(_name))

