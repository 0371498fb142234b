"""`keytui serve` refuses bad options with one line naming the option, before binding anything."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("args, field", [
    (["--trusted-proxy", "not-a-network"], "trusted-proxy"),
    (["--port", "70000"], "port"),
    (["--workers", "0"], "workers"),
    (["--fail-limit", "-1"], "fail-limit"),
    (["--cooldown", "-5"], "cooldown"),
])
def test_bad_options_are_refused_with_one_line(cli, args, field):
    result = cli("serve", *args)
    assert result.code == 2
    assert result.err.strip().splitlines() == [result.err.strip()]
    assert result.err.startswith(f"keytui: {field}:")


def test_serve_refuses_read_only(cli):
    result = cli("--read-only", "serve")
    assert result.code == 2 and "read-only" in result.err
