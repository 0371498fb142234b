"""`keytui serve` refuses bad options, and a home it cannot use, with one line, before binding anything."""

from __future__ import annotations

import pytest

from tests.pg import run_statements, with_database


@pytest.mark.parametrize("args, field", [
    (["--trusted-proxy", "not-a-network"], "trusted-proxy"),
    (["--port", "70000"], "port"),
    (["--workers", "0"], "workers"),
    (["--fail-limit", "-1"], "fail-limit"),
    (["--cooldown", "-5"], "cooldown"),
    (["--request-timeout", "0"], "request-timeout"),
    (["--idle-timeout", "-1"], "idle-timeout"),
    (["--max-connections", "0"], "max-connections"),
    (["--max-pending", "0"], "max-pending"),
])
def test_bad_options_are_refused_with_one_line(cli, args, field):
    result = cli("serve", *args)
    assert result.code == 2
    assert result.err.strip().splitlines() == [result.err.strip()]
    assert result.err.startswith(f"keytui: {field}:")


def test_serve_refuses_read_only(cli):
    result = cli("--read-only", "serve")
    assert result.code == 2 and "read-only" in result.err


def newer_schema(home):
    run_statements(home, ["UPDATE meta SET value = '999' WHERE name = 'schema_version'"])


@pytest.mark.parametrize("damage, words", [
    pytest.param(lambda home: (home / "keytui.db").write_bytes(b""), "is empty (0 bytes)",
                 id="empty", marks=pytest.mark.sqlite_only),
    pytest.param(lambda home: (home / "keytui.db").write_bytes(b"not a database at all" * 10),
                 "is not a keytui database", id="garbage", marks=pytest.mark.sqlite_only),
    pytest.param(lambda home: (home / "master.key").unlink(), "master.key is missing", id="no key file"),
    pytest.param(newer_schema, "was written by a newer keytui (schema 999", id="newer schema"),
])
def test_serve_refuses_a_home_it_cannot_use_with_exit_3(cli, home, damage, words):
    assert cli("keys", "list").code == 0
    for name in ("keytui.db-wal", "keytui.db-shm"):
        (home / name).unlink(missing_ok=True)
    damage(home)
    result = cli("serve", "--port", "1")
    assert result.code == 3 and words in result.err, result
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err


def test_serve_refuses_a_database_server_it_cannot_use_with_exit_3(cli, pg_url):
    """PostgreSQL's part of the damaged file above: a database that is not there."""
    missing = with_database(pg_url, "keytui_no_such_database")
    result = cli("serve", "--port", "1", env={"KEYTUI_DATABASE_URL": missing})
    assert result.code == 3, result
    assert result.err.startswith("keytui: the database server cannot be used (")
    assert "keytui_no_such_database" in result.err
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
