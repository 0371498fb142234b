"""Locks between processes sharing a home: the kernel releases them if a process dies, so a
killed process never leaves a home locked."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from keytui.config import Settings

WATCH_LOCK = ".watch.lock"


@contextmanager
def _flock(path: Path, flags: int) -> Iterator[None]:
    fd = os.open(path, flags, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def home_lock(home: Path) -> Iterator[None]:
    """Serialises creating a home's database (a lock on the folder itself)."""
    return _flock(home, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


@contextmanager
def watch_lock(settings: Settings | None) -> Iterator[None]:
    """One watch pass at a time per home: a second pass waits for the first, then finds its
    work done. (A context without a home, built by hand in a test, takes no lock.)"""
    if settings is None:
        yield
        return
    with _flock(settings.home / WATCH_LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)):
        yield
