"""The shipped .pre-commit-hooks.yaml, run by the real pre-commit framework from a local hooks
repository (no network): a commit that adds a live token is refused, one with a dead token goes in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import keytui

HOOKS_FILE = Path(keytui.__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"


def run(cwd, *args, env=None):
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def git(cwd, *args, env=None):
    return run(cwd, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args, env=env)


@pytest.fixture
def project(tmp_path, home):
    """A repository using keytui's hook from a local copy of this project's hooks file."""
    hooks = tmp_path / "hooks-repo"
    hooks.mkdir()
    shutil.copy(HOOKS_FILE, hooks / ".pre-commit-hooks.yaml")
    git(hooks, "init", "-q")
    git(hooks, "add", ".")
    git(hooks, "commit", "-qm", "hooks")
    rev = run(hooks, "git", "rev-parse", "HEAD").stdout.strip()
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hooks}\n  rev: {rev}\n  hooks:\n  - id: keytui-scan\n")
    env = dict(os.environ, KEYTUI_HOME=str(home), PRE_COMMIT_HOME=str(tmp_path / "pre-commit-cache"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("KEYTUI_NOW", None)
    installed = run(repo, sys.executable, "-m", "pre_commit", "install", env=env)
    assert installed.returncode == 0, installed.stderr[-500:]
    git(repo, "add", ".pre-commit-config.yaml")
    first = git(repo, "commit", "-qm", "pre-commit config", env=env)
    assert first.returncode == 0, first.stdout[-1000:] + first.stderr[-1000:]
    return repo, env


def commits(repo) -> int:
    return int(run(repo, "git", "rev-list", "--count", "HEAD").stdout.strip())


def test_pre_commit_refuses_a_commit_with_a_live_token(cli, project):
    repo, env = project
    made = cli("keys", "create", "--name", "Live Key", "--scope", "agents", "--permission", "read",
              "--environment", "sandbox", "--expires-in", "30", "--json").json()
    token, key_id = made["token"], made["key"]["key_id"]
    (repo / "settings.py").write_text(f"DEBUG = True\nAPI_TOKEN = '{token}'\n")
    git(repo, "add", "settings.py")
    refused = git(repo, "commit", "-m", "add settings", env=env)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0 and commits(repo) == 1
    assert "keytui scan" in output and "Failed" in output
    assert key_id in output and "settings.py:2" in output
    assert token not in output

    cli("keys", "revoke", key_id)  # a dead token is no reason to refuse
    accepted = git(repo, "commit", "-m", "add settings", env=env)
    assert accepted.returncode == 0 and commits(repo) == 2
