"""Time as a dependency: the service asks a clock, so tests and snapshots can fix or advance it."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def utc(dt: datetime) -> datetime:
    """Aware UTC datetime from any datetime (naive ones are taken as UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MS = timedelta(milliseconds=1)


def to_ms(dt: datetime | None) -> int | None:
    """Milliseconds since the epoch, exactly. Row seals are computed over stored milliseconds, and a
    float timestamp times 1000 came out a millisecond short for some times outside 2023-2030 (an
    expiry of 2039-03-08 19:46:13.411 was stored as .410 and its key then failed its own integrity
    check on the next edit)."""
    return None if dt is None else (utc(dt) - EPOCH) // ONE_MS


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else EPOCH + timedelta(milliseconds=ms)


class Clock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def now_ms(self) -> int:
        """What `to_ms(self.now())` gives, without building a datetime (verification asks per call)."""
        return time.time_ns() // 1_000_000


class FixedClock(Clock):
    """A clock that only moves when told to (tests, snapshots, demo builds)."""

    def __init__(self, start: datetime):
        self.set(start)

    def now(self) -> datetime:
        return self._now

    def now_ms(self) -> int:
        return self._ms

    def advance(self, **delta) -> datetime:
        self.set(self.now() + timedelta(**delta))
        return self._now

    def set(self, when: datetime) -> None:
        self._now = utc(when)
        self._ms = to_ms(self._now)


PIN_VARIABLE = "KEYTUI_NOW"


def pinned_clock() -> FixedClock | None:
    """KEYTUI_NOW (ISO 8601) pins the clock so demo data and screenshots are reproducible; the
    service honours it only in demo and test homes (keytui.service.homekind). ValueError if
    it is not a date-time."""
    pinned = os.environ.get(PIN_VARIABLE)
    return FixedClock(datetime.fromisoformat(pinned)) if pinned else None
