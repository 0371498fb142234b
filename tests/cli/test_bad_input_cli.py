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
