"""A real daemon on a temporary home, run as the test's own user (its admin, being the daemon's
own account); tests/daemon/test_shared_host.py runs daemon and clients as separate OS users."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.daemon.server import running_daemon


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout(seconds): pytest-timeout's limit for a slow test")


@pytest.fixture
def daemon(home):
    """(socket path, process) of `keytui serve --socket` on the test's home."""
    with running_daemon(home) as running:
        yield running


@pytest.fixture
def remote(daemon):
    from keytui.daemon.client import RemoteVault

    vault = RemoteVault(str(daemon[0]))
    yield vault
    vault.close()


# ---------------------------------------------------------------------------------- a shared host
# The daemon runs as a service account; clients run as other OS users with runuser. Other users
# cannot run the test's interpreter (it may live in root's 0700 home), so the project's
# dependencies go into a venv on the system python3, and the source under test is copied beside it.

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"


@dataclass
class SharedHost:
    python: Path
    source: Path
    base: Path
    users: dict[str, str] = field(default_factory=dict)  # role in the test -> OS user name

    def env(self, **extra) -> list[str]:
        values = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PYTHONPATH": str(self.source),
                  "LANG": "C.UTF-8", **extra}
        return ["env", "-i", *[f"{k}={v}" for k, v in values.items()]]

    def as_user(self, who: str, *args: str, input: str | None = None, **env) -> subprocess.CompletedProcess:
        """`python -m keytui ARGS` (or `python -c` when args[0] == '-c') as the OS user for `who`."""
        cmd = ["runuser", "-u", self.users[who], "--", *self.env(**env), str(self.python)]
        cmd += list(args) if args[0] == "-c" else ["-m", "keytui", *args]
        return subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=120, cwd="/")


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "runs the daemon and its clients as separate OS users: needs root (CI runs as root)"
    missing = [tool for tool in ("useradd", "userdel", "runuser", "setpriv") if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)} to create users and run as them"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"needs the system interpreter {SYSTEM_PYTHON} (other users cannot run this one)"
    return None


def _system_venv() -> Path:
    """A world-readable venv with keytui's dependencies on the system python3, built once per
    pyproject.toml (atomically, so two test runs never share a half-built one)."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    final = Path(tempfile.gettempdir()) / f"keytui-shared-host-venv-{digest}"
    if (final / "ready").exists():
        return final
    draft = Path(tempfile.mkdtemp(prefix="keytui-venv-", dir=tempfile.gettempdir()))
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(draft)], check=True, capture_output=True)
    subprocess.run([str(draft / "bin" / "python"), "-m", "pip", "install", "-q", str(ROOT)], check=True,
                   capture_output=True, timeout=900)
    (draft / "ready").write_text("ok\n")
    subprocess.run(["chmod", "-R", "a+rX", str(draft)], check=True)
    try:
        draft.rename(final)
    except OSError:  # another run finished first: use theirs
        shutil.rmtree(draft, ignore_errors=True)
    return final


@pytest.fixture(scope="session")
def shared_host():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    venv = _system_venv()
    base = Path(tempfile.mkdtemp(prefix="kt-host-", dir="/tmp"))
    base.chmod(0o755)
    shutil.copytree(ROOT / "keytui", base / "src" / "keytui", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["chmod", "-R", "a+rX", str(base / "src")], check=True)
    suffix = secrets.token_hex(3)
    host = SharedHost(venv / "bin" / "python", base / "src", base)
    try:
        for who in ("svc", "viewer", "operator", "admin", "nobody"):
            name = f"kt{who[:3]}{suffix}"
            subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name], check=True, capture_output=True)
            host.users[who] = name
        yield host
    finally:
        for name in host.users.values():
            subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
