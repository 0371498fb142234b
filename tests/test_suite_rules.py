"""The suite's own rules: it never runs against a developer's real keytui settings, and a failing
test's report never shows a token."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from keytui import tokens
from keytui.config import default_home
from keytui.domain import Environment

REPO = Path(__file__).parents[1]


def run_pytest(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_no_keytui_variable_and_no_real_home_reach_a_test(database_url):
    keytui_variables = {name: value for name, value in os.environ.items() if name.startswith("KEYTUI_")}
    assert keytui_variables == ({"KEYTUI_DATABASE_URL": database_url} if database_url else {})  # the test's own
    assert Path(os.environ["XDG_DATA_HOME"]) in default_home().parents
    assert not str(default_home()).startswith(str(Path.home() / ".local"))


def test_a_developers_keytui_settings_do_not_reach_the_suite(tmp_path):
    real = tmp_path / "real-home"
    env = dict(os.environ, KEYTUI_HOME=str(real), KEYTUI_DATABASE_URL=f"sqlite:///{tmp_path / 'real.db'}",
               KEYTUI_MASTER_KEY="not base64!", KEYTUI_NOW="1999-01-01T00:00:00+00:00")
    result = run_pytest("-q", "tests/test_smoke.py", cwd=REPO, env=env)
    assert result.returncode == 0, result.stdout[-2000:]
    assert not real.exists() and not (tmp_path / "real.db").exists()


def test_a_failing_tests_report_never_shows_a_token(tmp_path):
    token = tokens.generate(Environment.PRODUCTION)
    (tmp_path / "test_leak.py").write_text(textwrap.dedent(f"""
        def test_compares_tokens():
            issued = {token!r}
            print("issued", issued)
            assert issued == "kt_prod_something_else"
    """))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = run_pytest("-p", "tests.conftest", "-q", "test_leak.py", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "kt_<redacted>" in result.stdout
    leaked = token in result.stdout + result.stderr or token.split("_")[2] in result.stdout + result.stderr
    assert not leaked, "the report showed the token"
