"""Shared fixtures: a vault on a temporary home with a clock the test controls, and a CLI runner
that drives the real `keytui` command in a subprocess against a temporary KEYTUI_HOME.

The suite never runs against a developer's real data: every KEYTUI_* variable of the calling
environment is removed before anything runs (and again around each test), and the default
home (the user data directory) points into a temporary folder.

Two variables are the suite's own settings, read once before they are removed:
KEYTUI_TEST_DATABASE_URL (run the service tests on PostgreSQL) and KEYTUI_CI=1 (a skip not
listed in tests/expected_skips.txt fails the run).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from keytui.clock import FixedClock
from tests.pg import pg_database, run_statements
from tests.support import START, TOTP_STEP_S, totp_code

TOKEN_PATTERN = re.compile(r"kt_(?:dev|sbx|stg|prod)_[0-9A-Za-z._]+")  # also pytest's abbreviated kt_sbx_0u3...2KHkr6
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
TEST_DATABASE_URL = os.environ.get("KEYTUI_TEST_DATABASE_URL") or None
IN_CI = os.environ.get("KEYTUI_CI") == "1"
SUITE_SETTINGS = ("KEYTUI_TEST_DATABASE_URL", "KEYTUI_CI")  # read by this file, never by keytui
EXPECTED_SKIPS = Path(__file__).with_name("expected_skips.txt")
NEEDS_POSTGRES = "checks PostgreSQL itself: set KEYTUI_TEST_DATABASE_URL=postgresql://… (.ci/run does)"


def _keytui_variables() -> list[str]:
    return [name for name in os.environ if name.startswith("KEYTUI_")]


@pytest.fixture(autouse=True)
def no_inherited_keytui_settings(monkeypatch):
    """No test sees a KEYTUI_* variable it did not set itself (subprocesses inherit os.environ)."""
    for name in _keytui_variables():
        monkeypatch.delenv(name)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def home(tmp_path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def database_url(no_inherited_keytui_settings, monkeypatch) -> Iterator[str | None]:
    """With KEYTUI_TEST_DATABASE_URL=postgresql://… every test runs on a new, empty PostgreSQL
    database of its own on that server (dropped after it, so tests and xdist workers never share
    one), named by KEYTUI_DATABASE_URL for the test and every process it starts; None on an
    SQLite run."""
    if not TEST_DATABASE_URL:
        yield None
        return
    with pg_database(TEST_DATABASE_URL) as url:
        monkeypatch.setenv("KEYTUI_DATABASE_URL", url)
        yield url


@pytest.fixture
def own_database(database_url, monkeypatch):
    """Call it before opening another home: on PostgreSQL, KEYTUI_DATABASE_URL then names a further
    new database (dropped after the test), as a home of its own on SQLite has a file of its own."""
    with ExitStack() as stack:
        def switch() -> None:
            if database_url:
                monkeypatch.setenv("KEYTUI_DATABASE_URL", stack.enter_context(pg_database(TEST_DATABASE_URL)))

        yield switch


@pytest.fixture
def pg_url(database_url) -> str:
    """A fresh PostgreSQL database for a test that checks PostgreSQL itself."""
    if not database_url:
        pytest.skip(NEEDS_POSTGRES)
    return database_url


@pytest.fixture
def vault(home, clock):
    """On the home's SQLite file, or the test's PostgreSQL database (see `database_url`)."""
    from keytui.service import Vault

    v = Vault.open(home, operator="alice", clock=clock)
    yield v
    v.close()


@pytest.fixture
def store(vault):
    """The vault's database in use for the models, for tests that read or tamper with rows
    directly (the service puts its own database in use for each call)."""
    with vault.ctx.bound():
        yield


@pytest.fixture
def raw_sql(home):
    """Run SQL on the test's database with the engine's own driver (sqlite3 on the home's file,
    psycopg2 on PostgreSQL; no keytui code), in one transaction; returns the last one's rows."""

    def run(*statements: str) -> list[tuple]:
        return run_statements(home, statements)

    return run


@pytest.fixture
def mfa_code(vault, clock):
    """Enrol the vault's operator and return a function giving a fresh code for each call (the
    clock moves on one 30 s step first, since a code is accepted once)."""
    secret, _ = vault.enroll_mfa()

    def next_code() -> str:
        clock.advance(seconds=TOTP_STEP_S)
        return totp_code(secret, clock.now())

    next_code.secret = secret
    return next_code


class CLIResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self) -> str:  # never print tokens in assertion messages beyond what the test produced
        return f"CLIResult(code={self.code}, err={self.err.strip()[:200]!r})"


@pytest.fixture
def cli(home):
    """Run `python -m keytui ARGS` against the temporary home; returns CLIResult."""

    def run(*args: str, input: str | None = None, env: dict | None = None, operator: str = "alice") -> CLIResult:
        full_env = dict(os.environ, KEYTUI_HOME=str(home), USER=operator)
        full_env.pop("KEYTUI_MASTER_KEY", None)
        full_env.pop("KEYTUI_NOW", None)
        if env:
            full_env.update(env)
        proc = subprocess.run([sys.executable, "-m", "keytui", "--operator", operator, *args], input=input,
                              capture_output=True, text=True, env=full_env, timeout=60)
        return CLIResult(proc)

    return run


@contextmanager
def _write_lock_held(db_path: Path) -> Iterator[int]:
    """The sqlite3 shell (a Python process where it is not installed) holding the database's
    write lock, as an operator poking at the file would; yields its pid. Closing its input ends
    it, and the transaction with it."""
    if shutil.which("sqlite3"):  # waiting up to 10 s for the lock, should a writer hold it just then
        proc = subprocess.Popen(["sqlite3", str(db_path)], stdin=subprocess.PIPE, text=True)
        proc.stdin.write(".timeout 10000\nBEGIN IMMEDIATE;\nINSERT INTO meta (name, value) VALUES ('held', 'by sqlite3');\n")
        proc.stdin.flush()
    else:
        proc = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys\n"
                                 "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)\n"
                                 "c.execute('BEGIN IMMEDIATE')\nsys.stdin.read()\n", str(db_path)],
                                stdin=subprocess.PIPE, text=True)
    from keytui.store.faults import lock_holders

    def held() -> bool:  # by it (not by a writer busy just then), and a plain writer cannot begin
        if proc.pid not in lock_holders(db_path):
            return False
        try:
            with closing(sqlite3.connect(db_path, timeout=0)) as probe:
                probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        return False

    deadline = time.monotonic() + 15
    while not held():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"the lock holder (pid {proc.pid}) never took the write lock of {db_path}")
        time.sleep(0.02)
    try:
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait(10)


@pytest.fixture
def lock_holder():
    """`with lock_holder(db_path) as pid:` another process holds the write lock."""
    return _write_lock_held


class SmallDisk:
    """A file system of a few MB of the test's own, to fill up or make read-only."""

    def __init__(self, path: Path):
        self.path = path

    def fill(self) -> Path:
        """Fill it to the last byte; returns the filler file (delete it to free the space)."""
        filler = self.path / "filler"
        with open(filler, "wb", buffering=0) as fh:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        fh.write(b"\0" * size)
                except OSError:
                    pass
        return filler

    def read_only(self) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True)


@pytest.fixture
def small_disk(tmp_path):
    """A SmallDisk (an 8 MB tmpfs), or None where the test cannot mount one (it needs root, as in CI)."""
    path = tmp_path / "disk"
    path.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(path)], capture_output=True).returncode == 0
    yield SmallDisk(path) if mounted else None
    if mounted:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report never shows a token: assertion introspection would print one."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        report.longrepr = TOKEN_PATTERN.sub("kt_<redacted>", str(report.longrepr))
        report.sections = [(title, TOKEN_PATTERN.sub("kt_<redacted>", text)) for title, text in report.sections]


_scratch_data_home: str | None = None


def pytest_configure(config):
    global _scratch_data_home
    config.addinivalue_line("markers", "sqlite_only: checks SQLite itself (its files, pragmas, statement trace)")
    for name in _keytui_variables():  # before any session fixture or collected module runs
        if name not in SUITE_SETTINGS:  # pytest-xdist's workers read them too (each test drops them)
            del os.environ[name]
    _scratch_data_home = tempfile.mkdtemp(prefix="keytui-tests-data-")
    os.environ["XDG_DATA_HOME"] = _scratch_data_home  # the default home, should a test forget --home


def pytest_unconfigure(config):
    if _scratch_data_home:
        shutil.rmtree(_scratch_data_home, ignore_errors=True)


POSTGRES_RUN_SKIP = "checks SQLite itself; this run uses KEYTUI_TEST_DATABASE_URL"


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL run, the tests of SQLite itself (its files, pragmas) skip, saying why."""
    if not TEST_DATABASE_URL:
        return
    skip = pytest.mark.skip(reason=POSTGRES_RUN_SKIP)
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


# ---------------------------------------------------------------------- skips in CI
# In CI (KEYTUI_CI=1, set by .ci/run) every tool a test needs is installed, so a skip means a
# check silently did not run: it fails the run unless tests/expected_skips.txt lists it.
_skipped: dict[str, str] = {}


def _expected_skips() -> list[str]:
    if not EXPECTED_SKIPS.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in EXPECTED_SKIPS.read_text().splitlines())
    return [line for line in lines if line]


def _unexpected_skips() -> dict[str, str]:
    expected = _expected_skips()
    by_design = (POSTGRES_RUN_SKIP,) if TEST_DATABASE_URL else ()  # this run's own rule, above
    return {nodeid: reason for nodeid, reason in _skipped.items() if not any(r in reason for r in by_design)
            if not any(nodeid == e or nodeid.startswith(e + "[") or nodeid.startswith(e + "::") for e in expected)}


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):  # an xfail is reported as skipped too
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped[report.nodeid] = reason


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if IN_CI and _unexpected_skips():
        terminalreporter.section("unexpected skips (KEYTUI_CI=1: a skip in CI is a failure)", red=True)
        for nodeid, reason in sorted(_unexpected_skips().items()):
            terminalreporter.line(f"{nodeid}: {reason}")
        terminalreporter.line(f"Install what is missing, or list the test in {EXPECTED_SKIPS.name} with a reason.")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if IN_CI and _unexpected_skips() and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
