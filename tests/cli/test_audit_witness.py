"""The audit log against someone with write access to the database: a cut log does not heal
itself on the next write, and a roll-back (an older database file copied back) is found
against anchors kept outside the database (on PostgreSQL, an older copy of the database restored
in its place)."""

from __future__ import annotations

import shutil
from contextlib import closing
from urllib.parse import urlsplit

import pytest

from tests.pg import with_database

HEAD_SAYS_5 = "the log ends at entry 3 but the head anchor records entry 5"


@pytest.mark.parametrize("write", [["policy", "set", "expiry_alert_days", "14"], ["watch", "--once"]])
def test_a_truncated_log_stays_reported_after_the_next_write(kt, raw_sql, history, write):
    raw_sql("DELETE FROM audit_entry WHERE seq >= 4")
    assert kt("audit", "verify").code == 1
    assert kt(*write).code == 0
    result = kt("audit", "verify")
    assert result.code == 1 and HEAD_SAYS_5 in result.err, result
    alerts = kt("alerts", "--json").json()
    assert [(a["kind"], a["severity"]) for a in alerts if a["kind"] == "audit-chain-broken"] == [
        ("audit-chain-broken", "high")]
    assert kt(*write).code == 0 and kt("audit", "verify").code == 1  # and after the one after


def test_a_removed_head_with_the_tail_stays_reported(kt, raw_sql, history):
    raw_sql("DELETE FROM audit_entry WHERE seq >= 4", "DELETE FROM meta WHERE name = 'audit_head'")
    kt("policy", "set", "expiry_alert_days", "14")
    result = kt("audit", "verify")
    assert result.code == 1 and "head anchor is missing" in result.err


def test_an_emptied_log_stays_reported(kt, raw_sql, history):
    raw_sql("DELETE FROM audit_entry", "DELETE FROM meta WHERE name = 'audit_head'")
    kt("policy", "set", "expiry_alert_days", "14")
    result = kt("audit", "verify")
    assert result.code == 1 and "log is empty but keys" in result.err


def test_only_a_reanchor_with_mfa_clears_a_break_and_it_is_audited(kt, raw_sql, history, totp):
    raw_sql("DELETE FROM audit_entry WHERE seq >= 5")  # the enrolment was entry 6
    kt("policy", "set", "expiry_alert_days", "14")
    assert kt("audit", "reanchor").code == 2
    assert kt("audit", "reanchor", "--totp", "000000").code == 2
    assert kt("audit", "verify").code == 1
    done = kt("audit", "reanchor", "--totp", totp(), "--json")
    assert done.code == 0, done
    assert any("head anchor records entry 6" in p for p in done.json()["acknowledged"])
    result = kt("audit", "verify")
    assert result.code == 0 and "problems re-anchored" in result.out, result
    assert kt("audit", "list", "--json").json()[0]["action"] == "audit.reanchor"
    raw_sql("DELETE FROM audit_entry WHERE action = 'audit.reanchor'")  # erasing the acknowledgement
    kt("policy", "set", "expiry_alert_days", "15")
    assert kt("audit", "verify").code == 1


def test_reanchoring_an_intact_log_is_refused(kt, history, totp):
    result = kt("audit", "reanchor", "--totp", totp())
    assert result.code == 2 and "nothing to re-anchor" in result.err


class FileCopy:
    """An older keytui.db copied back over the home's."""

    def __init__(self, home, tmp_path):
        self.home, self.old = home, tmp_path / "old.db"

    def keep(self) -> None:
        shutil.copy(self.home / "keytui.db", self.old)

    def restore(self) -> None:
        for suffix in ("-wal", "-shm"):
            (self.home / f"keytui.db{suffix}").unlink(missing_ok=True)
        shutil.copy(self.old, self.home / "keytui.db")


class ServerCopy:
    """An older copy of the PostgreSQL database put back in its place (a DBA's restore)."""

    def __init__(self, url: str):
        self.url, self.name = url, urlsplit(url).path.lstrip("/")
        self.old = f"{self.name}_old"

    def _admin(self, *statements: str) -> None:
        import psycopg2

        with closing(psycopg2.connect(with_database(self.url, "postgres"))) as conn:
            conn.autocommit = True
            for statement in statements:
                conn.cursor().execute(statement)

    def keep(self) -> None:  # a template may have no one else connected (this test's own vault is)
        self._admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'",
                    f'CREATE DATABASE "{self.old}" TEMPLATE "{self.name}"')

    def restore(self) -> None:
        self._admin(f'DROP DATABASE "{self.name}" WITH (FORCE)', f'ALTER DATABASE "{self.old}" RENAME TO "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.old}" WITH (FORCE)')


@pytest.fixture
def copy(home, tmp_path, database_url):
    if not database_url:
        yield FileCopy(home, tmp_path)
        return
    server = ServerCopy(database_url)
    try:
        yield server
    finally:
        server.drop()


def test_a_database_copied_back_is_found_against_recorded_anchors(kt, history, copy, tmp_path):
    anchors = tmp_path / "anchors.log"
    assert kt("audit", "anchor", "--output", str(anchors)).code == 0
    kt("policy", "set", "expiry_alert_days", "14")  # checkpoint, then keep the database as it is now
    copy.keep()
    kt("keys", "revoke", history[2], "--reason", "incident")
    assert kt("watch", "--once", "--anchor-file", str(anchors)).code == 0
    assert kt("audit", "verify", "--against", str(anchors)).code == 0
    copy.restore()  # the roll-back: the revocation never happened
    assert kt("audit", "verify").code == 0  # the chain alone cannot tell
    result = kt("audit", "verify", "--against", str(anchors))
    assert result.code == 1 and "rolled back" in result.err, result
    data = kt("audit", "verify", "--against", str(anchors), "--json").json()
    assert data["ok"] is False and data["anchors"]["checked"] == 2


def test_a_forged_anchor_is_reported(kt, history, tmp_path):
    anchors = tmp_path / "anchors.log"
    kt("audit", "anchor", "--output", str(anchors))
    line = anchors.read_text()
    anchors.write_text(line.replace("seq=5", "seq=4"))
    result = kt("audit", "verify", "--against", str(anchors))
    assert result.code == 1 and "not written with this master key" in result.err
