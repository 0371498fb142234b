"""Several processes (as if on several hosts) sharing one PostgreSQL database: each has a home
of its own holding the same master key, and KEYTUI_DATABASE_URL naming the database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keytui.service import homekind


@pytest.fixture
def shared(vault, home, pg_url, tmp_path):
    """`shared.home(n)`: the n-th host's home (0 is the vault's own); `shared.run(n, *args)` a
    `keytui` subprocess there (Popen, text pipes), with KEYTUI_NOW allowed (a test home)."""
    homekind.mark(vault.ctx.db, vault.ctx.keyring, homekind.TEST)
    return Hosts(home, pg_url, tmp_path)


class Hosts:
    def __init__(self, first: Path, url: str, tmp_path: Path):
        self.first, self.url, self.tmp_path = first, url, tmp_path

    def home(self, n: int) -> Path:
        if n == 0:
            return self.first
        path = self.tmp_path / f"host{n}"
        if not path.exists():
            path.mkdir(mode=0o700)
            shutil.copy2(self.first / "master.key", path / "master.key")
        return path

    def env(self, n: int, **extra: str) -> dict:
        return dict(os.environ, KEYTUI_HOME=str(self.home(n)), KEYTUI_DATABASE_URL=self.url, **extra)

    def run(self, n: int, *args: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "keytui", *args], env=self.env(n, **(env or {})),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
