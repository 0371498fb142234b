"""A PostgreSQL server of a test's own, which the test may stop and start (the shared server
other tests use must never be restarted): initdb and pg_ctl on a private socket directory, as
.ci/run's `postgres_for_tests` does. PostgreSQL refuses to run as root, so as root its commands
run as the unprivileged user .ci/run uses (created here if missing, as .ci/run does)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

PG_USER = "keytui-ci-pg"
SETTINGS = "-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory with initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """`url` names its `postgres` database; `stop()` (fast: sessions are cut) and `start()`."""

    def __init__(self, bin_dir: Path, base: Path):
        self.bin = bin_dir
        self.dir = base
        self.data = base / "data"
        self.url = f"postgresql://postgres@/postgres?host={base}"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            _ensure_user()
            shutil.chown(base, PG_USER)
            self._as_user = ["runuser", "-u", PG_USER, "--"]
        base.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as_user, str(self.bin / tool), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-o",
                  f"-k {self.dir} {SETTINGS}", "start")
        self.dir.chmod(0o755)  # the socket, for the test's processes (as root, not the server's user)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def _ensure_user() -> None:
    if subprocess.run(["id", PG_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, capture_output=True)
