"""A hostile org policy: one too large to hold is refused before it is read whole, aliases that
shadow each other are refused, and the active policy is parsed once per process, never inside
the write lock on each create or rotation."""

from __future__ import annotations

import time

import pytest

from keytui.service import orgpolicy


def test_a_16_mb_policy_is_refused_quickly_and_nothing_is_stored(cli, vault, tmp_path, raw_sql):
    path = tmp_path / "huge.toml"
    path.write_text('name = "huge"\n' + "# padding\n" * (16 * 1024 * 1024 // 10))
    started = time.perf_counter()
    result = cli("policy", "apply", str(path))
    assert result.code == 2 and result.err.startswith("keytui: org policy: is over 65536 bytes"), result
    assert time.perf_counter() - started < 10
    assert raw_sql("SELECT count(*) FROM org_policy") == [(0,)]
    piped = cli("policy", "apply", "-", input=path.read_text())
    assert piped.code == 2 and "65536" in piped.err


@pytest.mark.parametrize("first, second", [("production", "prod"), ("dev", "development"), ("stg", "staging")])
def test_environment_aliases_that_shadow_each_other_are_refused(cli, vault, tmp_path, raw_sql, first, second):
    path = tmp_path / "shadow.toml"
    path.write_text(f'name = "s"\n[environments.{first}]\nmax_expiry_days = 30\n\n'
                    f'[environments.{second}]\nmax_expiry_days = 3650\n')
    result = cli("policy", "apply", str(path))
    assert result.code == 2 and result.err.startswith(f"keytui: environments.{second} (line 5):"), result
    assert f"already given as [environments.{first}]" in result.err
    assert raw_sql("SELECT count(*) FROM org_policy") == [(0,)]


def test_the_active_policy_is_parsed_once_not_on_every_change(vault, monkeypatch):
    big = 'name = "big"\n[environments.sandbox]\nmax_expiry_days = 90\n' + "# note\n" * 8000
    vault.apply_org_policy(big)
    parsed = []
    real = orgpolicy.tomllib.loads
    monkeypatch.setattr(orgpolicy.tomllib, "loads", lambda text: parsed.append(1) or real(text))
    orgpolicy._parse.cache_clear()
    keys = [vault.create(f"K{n}", "agents", ["read"], "sandbox", expires_in_days=30).key.key_id for n in range(5)]
    for key_id in keys:
        vault.rotate(key_id)
    vault.run_watch_pass()
    assert len(parsed) == 1
