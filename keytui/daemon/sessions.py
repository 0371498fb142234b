"""Client sessions: one service context per console, so its MFA window lasts across requests.

A session id is 256 random bits, kept only in memory, and bound to the uid that opened it: a
request carrying it is served only when the kernel says the same uid sent it. Idle sessions
expire, and each uid keeps a bounded number (the oldest goes first).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from keytui.domain import RoleRefused

IDLE_S = 12 * 3600
PER_UID = 16


@dataclass(frozen=True)
class Caller:
    uid: int
    user: str
    read_only: bool = False


class SessionExpired(RoleRefused):
    """The session is unknown (expired, the daemon restarted, or not this caller's): open a new one."""


class Sessions:
    def __init__(self):
        self._lock = threading.Lock()
        self._by_id: dict[str, tuple[int, object, float]] = {}

    def add(self, caller: Caller, vault) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            mine = sorted((used, sid) for sid, (uid, _, used) in self._by_id.items() if uid == caller.uid)
            for _, sid in mine[:max(0, len(mine) - PER_UID + 1)]:
                del self._by_id[sid]
            self._by_id[session_id] = (caller.uid, vault, time.monotonic())
        return session_id

    def get(self, session_id: str, caller: Caller):
        with self._lock:
            found = self._by_id.get(session_id)
            if found is None or found[0] != caller.uid or time.monotonic() - found[2] > IDLE_S:
                raise SessionExpired("the console's session with the daemon ended; open it again")
            self._by_id[session_id] = (found[0], found[1], time.monotonic())
            return found[1]

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [sid for sid, (_, _, used) in self._by_id.items() if now - used > IDLE_S]:
            del self._by_id[sid]
