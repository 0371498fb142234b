"""Time as a dependency: the service asks a clock, so tests and snapshots can fix or advance it."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def utc(dt: datetime) -> datetime:
    """Aware UTC datetime from any datetime (naive ones are taken as UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def to_ms(dt: datetime | None) -> int | None:
    return None if dt is None else int(utc(dt).timestamp() * 1000)


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


class Clock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def now_ms(self) -> int:
        return to_ms(self.now())


class FixedClock(Clock):
    """A clock that only moves when told to (tests, snapshots, demo builds)."""

    def __init__(self, start: datetime):
        self._now = utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = utc(when)


PIN_VARIABLE = "KEYTUI_NOW"


def pinned_clock() -> FixedClock | None:
    """KEYTUI_NOW (ISO 8601) pins the clock so demo data and screenshots are reproducible; the
    service honours it only in demo and test homes (keytui.service.homekind). ValueError if
    it is not a date-time."""
    pinned = os.environ.get(PIN_VARIABLE)
    return FixedClock(datetime.fromisoformat(pinned)) if pinned else None
