"""Starting a real `keytui serve --socket` for a test, and waiting until it answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from keytui.daemon.run import answers

START_TIMEOUT_S = 30


def socket_dir() -> Path:
    """Socket paths are limited to 108 bytes: pytest's tmp paths can be longer."""
    path = Path(tempfile.mkdtemp(prefix="kt-sock-", dir="/tmp"))
    path.chmod(0o755)
    return path


def wait_for_socket(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the daemon exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        if answers(path):
            return
        time.sleep(0.05)
    raise RuntimeError("the daemon did not open its socket in time")


@contextmanager
def running_daemon(home: Path, *, env: dict | None = None, command: list[str] | None = None,
                   sock: Path | None = None, extra: tuple[str, ...] = ()):
    """`keytui serve --socket` on `home`; yields (socket path, process); stops it with SIGTERM."""
    sock = sock or socket_dir() / "keytui.sock"
    full_env = {k: v for k, v in os.environ.items()  # the test's own database (tests/conftest.py), nothing else
                if not k.startswith("KEYTUI_") or k == "KEYTUI_DATABASE_URL"}
    full_env.update(env or {})
    cmd = (command or [sys.executable, "-m", "keytui"]) + ["serve", "--socket", str(sock), "--home", str(home), *extra]
    proc = subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_socket(sock, proc)
        yield sock, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()
