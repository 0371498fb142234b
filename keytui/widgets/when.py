"""Moments as the console writes them: one format everywhere, and ages an on-call operator reads
at a glance ("in 12 d", "3 d ago").

A moment is `2026-11-27 09:05` (UTC, as stored); the activity log adds seconds
(`2026-11-27 09:05:42`), because events a second apart must be told apart. An age is the
moment relative to the service's clock, in the largest whole unit (min, h, d), so a
registry column of them is narrow enough for an 80-column terminal.
"""

from __future__ import annotations

from datetime import datetime

MOMENT = "%Y-%m-%d %H:%M"
MOMENT_S = "%Y-%m-%d %H:%M:%S"
AGE_WIDTH = 10  # "59 min ago", "in 365 d"


def moment(value: datetime | None, none: str = "-") -> str:
    return value.strftime(MOMENT) if value else none


def moment_s(value: datetime | None, none: str = "-") -> str:
    return value.strftime(MOMENT_S) if value else none


def span(seconds: float) -> str:
    """A length of time in its largest whole unit: "45 s", "12 min", "5 h", "3 d"."""
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def age(value: datetime | None, now: datetime, none: str = "never") -> str:
    """`value` relative to `now`: "in 12 d" ahead, "3 d ago" behind, "now" within a minute."""
    if value is None:
        return none
    seconds = (value - now).total_seconds()
    if abs(seconds) < 60:
        return "now"
    return f"in {span(seconds)}" if seconds > 0 else f"{span(seconds)} ago"


def with_age(value: datetime | None, now: datetime, none: str = "never") -> str:
    """"2026-11-27 08:12 (48 min ago)": the moment and how far it is."""
    return none if value is None else f"{moment(value)} ({age(value, now)})"
