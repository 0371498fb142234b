""""If the audit entry cannot be written the change does not happen": with the audit log refusing
every new entry (a trigger in the database, as a full disk or a damaged log would), each
command that changes something fails, prints no secret, and leaves the database as it was."""

from __future__ import annotations


import pytest

from tests.support import TOKEN_LIKE

BREAK_THE_AUDIT_LOG = {  # in each engine's dialect
    "sqlite": ["CREATE TRIGGER audit_log_unavailable BEFORE INSERT ON audit_entry "
               "BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END"],
    "postgresql": ["CREATE FUNCTION audit_log_unavailable() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$",
                   "CREATE TRIGGER audit_log_unavailable BEFORE INSERT ON audit_entry "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_unavailable()"],
}

CHANGES = {
    "create": ("keys", "create", "--name", "Workflow Trigger Key", "--scope", "workflows", "--permission", "read",
               "--environment", "staging", "--expires-in", "30"),
    "rotate": ("keys", "rotate", "{live}"),
    "regenerate": ("keys", "regenerate", "{live}"),
    "revoke": ("keys", "revoke", "{live}"),
    "edit": ("keys", "edit", "{live}", "--name", "Renamed", "--ip", "10.0.0.0/8"),
    "copy": ("keys", "copy", "{live}"),
    "export": ("keys", "export", "--format", "json"),
    "export --output": ("keys", "export", "--output", "{export}"),
    "policy set": ("policy", "set", "auto_rotation", "off"),
    "policy apply": ("policy", "apply", "{policy}"),
    "mfa enroll": ("mfa", "enroll"),
    "acknowledge": ("alerts", "--ack", "{alert}"),
}


@pytest.fixture
def audit_log_down(raw_sql, populated, database_url):
    raw_sql(*BREAK_THE_AUDIT_LOG["postgresql" if database_url else "sqlite"])
    return populated


@pytest.mark.parametrize("args", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_without_its_audit_entry_does_not_happen(kt, audit_log_down, db_dump, tmp_path, args):
    before, files = db_dump(), sorted(tmp_path.rglob("*"))
    failed = kt(*[a.format(**audit_log_down) for a in args])
    assert failed.code != 0, failed
    assert not TOKEN_LIKE.search(failed.out + failed.err), "a token or secret was printed"
    assert "Demo Build Key" not in failed.out, "the registry was exported"
    assert db_dump() == before
    assert sorted(tmp_path.rglob("*")) == files


def test_the_watch_does_not_mark_a_key_expired_without_its_audit_entry(kt, audit_log_down, db_dump, clock):
    clock.advance(days=30, minutes=1)
    before = db_dump()
    assert kt("watch", "--once").code != 0
    assert db_dump() == before
    assert kt("keys", "show", audit_log_down["expiring"], "--json").json()["status"] == "expired"  # by time


def test_enrolment_without_its_audit_entry_prints_no_secret(kt, audit_log_down):
    failed = kt("mfa", "enroll", "--json")
    assert failed.code != 0 and "otpauth://" not in failed.out + failed.err
    assert kt("mfa", "status").code == 2  # still not enrolled
