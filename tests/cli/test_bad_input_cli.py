"""Bad input on the command line: exit 2, one line on stderr naming the field, nothing written."""

from __future__ import annotations

import pytest

CREATE = ["keys", "create", "--name", "Workflow Trigger Key", "--scope", "workflows", "--permission", "read",
          "--environment", "sandbox", "--expires-in", "30"]


def create_with(**changes: str | None) -> list[str]:
    """The create command with some options replaced (a value) or dropped (None)."""
    args = list(CREATE)
    for option, value in changes.items():
        flag = "--" + option.replace("_", "-")
        if flag in args:
            at = args.index(flag)
            del args[at:at + 2]
        if value is not None:
            args += [flag, value]
    return args


@pytest.fixture
def issued(vault):
    """One live key, so 'nothing changed' is measured against a store that holds something."""
    return vault.create("Existing Key", "agents", ["read"], "sandbox", expires_in_days=30)


CASES = {
    "unknown scope": (create_with(scope="everything"), "scope"),
    "unknown permission": (create_with(permission="root"), "permission"),
    "unknown environment": (create_with(environment="moon"), "environment"),
    "bad CIDR": (create_with(ip="10.0.0.0/33"), "ip"),
    "not an address": (create_with(ip="intranet"), "ip"),
    "past date": (create_with(expires_in=None, expires_at="2020-01-01"), "expiry"),
    "not a date": (create_with(expires_in=None, expires_at="soon"), "expiry"),
    "expiry not a policy": (create_with(expires_in="45"), "expiry"),
    "no expiry given": (create_with(expires_in=None), "expiry"),
    "empty name": (create_with(name=""), "name"),
    "blank name": (create_with(name="   "), "name"),
    "name too long": (create_with(name="n" * 65), "name"),
    "name taken": (create_with(name="Existing Key"), "name"),
    "prod without expiry": (create_with(environment="prod", expires_in=None) + ["--no-expiry"], "expiry"),
    "empty owner": (create_with(owner=""), "owner"),
    "malformed token": (["verify", "kt_prod_not-a-token", "--environment", "prod"], "token"),
    "bad checksum": (["verify", "{bad_checksum}", "--environment", "sandbox"], "token"),
    "verify unknown environment": (["verify", "{token}", "--environment", "moon"], "environment"),
    "verify bad ip": (["verify", "{token}", "--environment", "sandbox", "--ip", "10.0.0.256"], "ip"),
    "bad grace": (["keys", "rotate", "{key_id}", "--grace-hours", "-1"], "grace"),
    "grace not a number": (["keys", "rotate", "{key_id}", "--grace-hours", "a day"], "grace"),
    "unknown key": (["keys", "revoke", "key_aaaaaaaaaaaaaaaa"], "key"),
    "unknown status filter": (["keys", "list", "--status", "dormant"], "status"),
}


@pytest.mark.parametrize("args, field", CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_with_one_line_naming_the_field(kt, counts, issued, args, field):
    token = issued.token
    values = {"token": token, "bad_checksum": token[:-1] + ("0" if token[-1] != "0" else "1"),
              "key_id": issued.key.key_id}
    before = counts()
    result = kt(*[a.format(**values) for a in args])
    lines = result.err.strip().splitlines()
    assert result.code == 2, result
    assert len(lines) == 1 and lines[0].startswith(f"keytui: {field}"), result
    assert result.out == ""
    assert counts() == before


USAGE_ERRORS = {
    "unknown option": (["keys", "list", "--colour"], "--colour"),
    "unknown global option": (["--verbose", "keys", "list"], "--verbose"),
    "missing required options": (["keys", "create", "--name", "Workflow Trigger Key"], "--scope"),
    "not a number": (["keys", "list", "--limit", "many"], "--limit"),
    "not one of the choices": (["keys", "export", "--format", "xml"], "csv"),
    "two expiry options": (create_with(expires_at="2030-01-01"), "--expires-at"),
    "unknown command": (["rotate-all"], "rotate-all"),
    "missing subcommand": (["keys"], "ACTION"),
    "extra argument": (["keys", "show", "key_aaaaaaaaaaaaaaaa", "key_bbbbbbbbbbbbbbbb"], "key_bbbbbbbbbbbbbbbb"),
}


@pytest.mark.parametrize("args, named", USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_command_line_mistakes_are_one_line_naming_what_is_wrong(kt, counts, issued, args, named):
    before = counts()
    result = kt(*args)
    lines = result.err.strip().splitlines()
    assert result.code == 2, result
    assert len(lines) == 1 and lines[0].startswith("keytui: ") and named in lines[0], result
    assert result.out == ""
    assert counts() == before


def test_help_still_shows_the_usage(kt):
    result = kt("keys", "create", "--help")
    assert result.code == 0 and "usage: keytui keys create" in result.out and "--expires-in" in result.out
