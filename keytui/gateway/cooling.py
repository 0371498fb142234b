"""Brute-force protection: an address that keeps presenting bad tokens is cooled off.

Only credential failures count (unknown, expired or revoked tokens: what guessing produces);
a valid token refused for its environment, scope or permission is a configuration problem,
not an attack. IPv6 clients are counted by /64, the block one host or site is usually
given, so rotating through its addresses does not reset the count. The state is per worker
process and kept in memory, bounded so that a flood from many addresses cannot grow it
without limit: at most MAX_TRACKED addresses are counted and MAX_TRACKED are cooling (past that,
the stalest are forgotten first), and each address keeps at most `limit` failure times.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from functools import lru_cache
from typing import Callable

from keytui.domain import VerifyCode

CREDENTIAL_FAILURES = frozenset({VerifyCode.NOT_FOUND, VerifyCode.EXPIRED, VerifyCode.REVOKED})
MAX_TRACKED = 100_000
IPV6_PREFIX = 64


@lru_cache(maxsize=4096)
def _source(ip: str | None) -> str:
    """What is counted: the address, or its /64 for IPv6."""
    if not ip or ":" not in ip:
        return ip or ""
    return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))


class Cooling:
    def __init__(self, limit: int, window_s: float, cooldown_s: float,
                 clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures: dict[str, deque] = {}
        self._until: dict[str, float] = {}

    @property
    def enabled(self) -> bool:
        return self.limit > 0 and self.cooldown_s > 0

    def remaining(self, ip: str | None) -> float:
        """Seconds this address must still wait (0: not cooling)."""
        key = _source(ip)
        until = self._until.get(key)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._until[key]
            return 0.0
        return left

    def cooling_count(self) -> int:
        now = self._clock()
        return sum(1 for until in self._until.values() if until > now)

    def note(self, ip: str | None, code: VerifyCode) -> bool:
        """Count a verification; True when this failure starts a cooling period."""
        if not self.enabled or code not in CREDENTIAL_FAILURES:
            return False
        key = _source(ip)
        now = self._clock()
        recent = self._failures.get(key)
        if recent is None:
            if len(self._failures) >= MAX_TRACKED:
                self._forget_stale(now)
            recent = self._failures[key] = deque(maxlen=self.limit)
        recent.append(now)
        while recent and recent[0] <= now - self.window_s:
            recent.popleft()
        if len(recent) < self.limit:
            return False
        recent.clear()
        if key not in self._until and len(self._until) >= MAX_TRACKED:
            self._forget_cooled(now)
        self._until[key] = now + self.cooldown_s
        return True

    def cool(self, ip: str | None) -> bool:
        """Start a cooling period for this address now (a canary token was presented from it);
        False when cooling is off (cooldown 0)."""
        if self.cooldown_s <= 0:
            return False
        self._until[_source(ip)] = self._clock() + self.cooldown_s
        return True
    def _forget_cooled(self, now: float) -> None:
        """Periods that ended (never asked about since), else the ones ending soonest."""
        ended = [k for k, until in self._until.items() if until <= now]
        for k in ended:
            del self._until[k]
        if len(self._until) >= MAX_TRACKED:
            for k in sorted(self._until, key=self._until.get)[:len(self._until) - MAX_TRACKED + 1]:
                del self._until[k]

    def _forget_stale(self, now: float) -> None:
        stale = [k for k, q in self._failures.items() if not q or q[-1] <= now - self.window_s]
        for k in stale:
            del self._failures[k]
        while len(self._failures) >= MAX_TRACKED:  # all recent: drop the oldest entries
            del self._failures[next(iter(self._failures))]
