"""The home is checked before it is used: missing folders are made private whatever the umask,
and a home or key file that someone else could change or swap is refused with one line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

CREATE = ("keys", "create", "--name", "Demo Build Key", "--scope", "demo-builds", "--permission", "read",
          "--environment", "dev", "--no-expiry")


def keytui(home, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess:
    env = dict(os.environ, KEYTUI_HOME=str(home))
    env.pop("KEYTUI_MASTER_KEY", None)
    return subprocess.run([sys.executable, "-m", "keytui", "--operator", "alice", *args], capture_output=True,
                          text=True, env=env, timeout=60, umask=umask)


def refused(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_missing_parents_are_made_private_even_under_umask_000(tmp_path, database_url):
    home = tmp_path / "a" / "b" / "home"
    made = keytui(home, *CREATE, umask=0)
    assert made.returncode == 0, made.stderr
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", home)] == [0o700] * 3
    files = ["master.key"] if database_url else ["master.key", "keytui.db"]  # on PostgreSQL, no database file
    assert (home / "keytui.db").exists() == (database_url is None)
    assert [mode(home / f) for f in files] == [0o600] * len(files)


@pytest.mark.parametrize("bits", [0o777, 0o770, 0o702])
def test_a_home_others_may_write_is_refused(tmp_path, bits):
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, bits)
    refused(keytui(home, "keys", "list"), str(home), "run chmod 700")
    assert sorted(os.listdir(home)) == []


def test_a_home_that_is_a_symlink_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "home").symlink_to(real)
    refused(keytui(tmp_path / "home", "keys", "list"), "is a symlink")
    assert os.listdir(real) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_a_home_owned_by_another_user_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)
    refused(keytui(home, "keys", "list"), "owned by another user")


def test_a_planted_key_file_symlink_is_not_followed(tmp_path):
    home = tmp_path / "home"
    assert keytui(home, *CREATE).returncode == 0
    key = (home / "master.key").read_bytes()
    planted = tmp_path / "world-readable.key"
    planted.write_bytes(key)
    os.chmod(planted, 0o644)
    (home / "master.key").unlink()
    (home / "master.key").symlink_to(planted)
    for args in (("keys", "list"), CREATE[:3] + ("Other",) + CREATE[4:]):
        refused(keytui(home, *args), "master.key is a symlink")


@pytest.mark.parametrize("bits", [0o644, 0o660, 0o604])
def test_a_key_file_others_may_read_or_write_is_refused(tmp_path, bits):
    home = tmp_path / "home"
    assert keytui(home, *CREATE).returncode == 0
    os.chmod(home / "master.key", bits)
    refused(keytui(home, "keys", "list"), "master.key", "run chmod 600")
    os.chmod(home / "master.key", 0o600)
    assert keytui(home, "keys", "list").returncode == 0
