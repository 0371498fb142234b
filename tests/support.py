"""Helpers every test folder may use: a token that never prints itself, waiting on a condition
with a deadline (never a fixed sleep), and reading a subprocess's output with a deadline."""

from __future__ import annotations

import queue
import re
import threading
import time
from datetime import datetime, timezone
from typing import IO, Callable, TypeVar

import pyotp

T = TypeVar("T")

TOKEN_LIKE = re.compile(r"kt_(?:dev|sbx|stg|prod)_[0-9A-Za-z]{20,}")  # a whole token, never a hint like kt_sbx_…abcd
START = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)  # the test clock's start (a 30 s step boundary)


class Token(str):
    """A token whose repr hides it, so a failing assertion never prints one."""

    def __repr__(self) -> str:
        return "<token>"


TOTP_STEP_S = 30  # the README: RFC 6238, 30 s steps


def totp_code(secret: str, when: datetime) -> str:
    """The operator's authenticator: the RFC 6238 code (30 s, 6 digits, SHA-1) at `when`, computed
    by pyotp itself, never by keytui's own code."""
    return pyotp.TOTP(secret, interval=TOTP_STEP_S, digits=6).at(int(when.timestamp()))


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.02) -> T:
    """Poll `condition` until it returns something truthy (returned); AssertionError naming `what`
    after `timeout` seconds. For conditions in another process or thread, not for the event loop."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def read_line(stream: IO[str], timeout: float, what: str = "a line") -> str:
    """The next line of a subprocess's text stream; AssertionError after `timeout` seconds instead
    of blocking forever when the process never writes it."""
    lines: queue.Queue = queue.Queue(maxsize=1)
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}") from None
