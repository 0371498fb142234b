"""TOTP for operators, pinned to the README's numbers: RFC 6238 codes in 30 s steps, accepted one
step either side and no further, each code once; five wrong codes lock the operator out for five
minutes; the console opens a five-minute MFA window after a good code.

The numbers are literals and the codes come from pyotp (and oathtool when installed), never from
keytui's own TOTP code: changing any of these rules in keytui fails a test here.
"""

from __future__ import annotations

import shutil
import subprocess
from argparse import Namespace
from datetime import timedelta

import pytest

from keytui.domain import RuleError
from keytui.service import Vault
from tests.support import START, totp_code

STEP_S = 30  # RFC 6238 time step
LOCKOUT_AFTER = 5  # wrong codes in a row
LOCK_S = 300  # five minutes
CONSOLE_WINDOW_S = 300  # five minutes

OATHTOOL = shutil.which("oathtool")


@pytest.fixture
def secret(vault, clock):
    """alice enrolled; the clock in the middle of a time step, so 'one step either side' is unambiguous."""
    enrolled, _ = vault.enroll_mfa()
    clock.advance(seconds=STEP_S // 2)
    return enrolled


def at_step(clock, steps: int):
    return clock.now() + timedelta(seconds=steps * STEP_S)


def wrong_code(secret: str, clock) -> str:
    """Six digits that are no code of any step near now."""
    near = {totp_code(secret, at_step(clock, n)) for n in range(-3, 4)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555", "666666", "777777")
                if c not in near)


@pytest.mark.parametrize("steps", [-1, 0, 1], ids=["previous step", "current step", "next step"])
def test_a_code_of_the_current_step_or_one_step_either_side_is_accepted(vault, secret, clock, steps):
    vault.confirm_mfa(totp_code(secret, at_step(clock, steps)))


@pytest.mark.parametrize("steps", [-2, 2, -20, 20])
def test_a_code_two_or_more_steps_away_is_refused(vault, secret, clock, steps):
    with pytest.raises(RuleError, match="wrong code"):
        vault.confirm_mfa(totp_code(secret, at_step(clock, steps)))


def test_steps_are_30_seconds(vault, secret, clock):
    code = totp_code(secret, clock.now())
    clock.advance(seconds=2 * STEP_S)  # the code is now two steps old: refused
    with pytest.raises(RuleError, match="wrong code"):
        vault.confirm_mfa(code)
    clock.advance(seconds=-STEP_S)  # one step old: accepted
    vault.confirm_mfa(code)


@pytest.mark.skipif(OATHTOOL is None, reason="oathtool is not installed")
def test_a_code_from_an_independent_rfc_6238_implementation_is_accepted(vault, secret, clock):
    when = clock.now().strftime("%Y-%m-%d %H:%M:%S UTC")
    code = subprocess.run([OATHTOOL, "--totp", "--base32", "--now", when, "-"], input=secret, capture_output=True,
                          text=True, timeout=30, check=True).stdout.strip()
    assert code == totp_code(secret, clock.now())
    vault.confirm_mfa(code)


def test_a_code_is_accepted_only_once(vault, secret, clock):
    code = totp_code(secret, clock.now())
    vault.confirm_mfa(code)
    with pytest.raises(RuleError, match="already used"):
        vault.confirm_mfa(code)


def test_an_older_code_is_refused_after_a_newer_one_was_used(vault, secret, clock):
    vault.confirm_mfa(totp_code(secret, at_step(clock, 1)))
    with pytest.raises(RuleError, match="already used"):
        vault.confirm_mfa(totp_code(secret, clock.now()))


def test_four_wrong_codes_do_not_lock_the_operator_out(vault, secret, clock):
    for _ in range(LOCKOUT_AFTER - 1):
        with pytest.raises(RuleError, match="wrong code"):
            vault.confirm_mfa(wrong_code(secret, clock))
    vault.confirm_mfa(totp_code(secret, clock.now()))


def test_a_good_code_starts_the_count_of_wrong_codes_again(vault, secret, clock):
    for _ in range(2):
        for _ in range(LOCKOUT_AFTER - 1):
            with pytest.raises(RuleError, match="wrong code"):
                vault.confirm_mfa(wrong_code(secret, clock))
        clock.advance(seconds=STEP_S)
        vault.confirm_mfa(totp_code(secret, clock.now()))


def test_five_wrong_codes_lock_the_operator_out_for_five_minutes_and_the_lock_out_is_audited(vault, secret, clock):
    for _ in range(LOCKOUT_AFTER):
        with pytest.raises(RuleError, match="wrong code"):
            vault.confirm_mfa(wrong_code(secret, clock))
    locked_at = clock.now()
    with pytest.raises(RuleError, match="too many wrong codes"):
        vault.confirm_mfa(totp_code(secret, clock.now()))
    lockout = vault.audit_entries()[0]
    assert (lockout["action"], lockout["details"]["failures"]) == ("mfa.lockout", 5)

    clock.set(locked_at + timedelta(seconds=LOCK_S - 1))
    with pytest.raises(RuleError, match="too many wrong codes"):
        vault.confirm_mfa(totp_code(secret, clock.now()))
    clock.set(locked_at + timedelta(seconds=LOCK_S))
    vault.confirm_mfa(totp_code(secret, clock.now()))


def test_the_lock_out_holds_across_processes(vault, secret, home, clock):
    for _ in range(LOCKOUT_AFTER):
        with pytest.raises(RuleError):
            vault.confirm_mfa(wrong_code(secret, clock))
    other = Vault.open(home, operator="alice", clock=clock)
    try:
        with pytest.raises(RuleError, match="too many wrong codes"):
            other.confirm_mfa(totp_code(secret, clock.now()))
    finally:
        other.close()


def test_an_operator_without_enrolment_is_told_to_enrol(vault):
    with pytest.raises(RuleError, match="mfa enroll"):
        vault.confirm_mfa("123456")


def test_enrolment_is_audited_and_not_silently_replaced(vault, secret):
    assert vault.has_mfa()
    assert vault.audit_entries()[0]["action"] == "mfa.enroll"
    with pytest.raises(RuleError, match="already enrolled"):
        vault.enroll_mfa()


def test_without_a_window_every_change_needs_its_own_code(vault, make_key, mfa_code):
    make_key("First", permissions=("execute",), totp=mfa_code())
    with pytest.raises(RuleError, match="requires MFA"):
        make_key("Second", permissions=("execute",))


def test_the_console_opens_a_five_minute_mfa_window_after_a_good_code(home, monkeypatch):
    """`keytui` (run_console) as started from a shell, its terminal UI replaced by the checks:
    what its vault lets an operator do after one good code."""
    from keytui.app import KeytuiApp, run_console
    from keytui.service.homekind import mark_test_home

    mark_test_home(home)  # only a test (or demo) home lets KEYTUI_NOW pin the clock
    monkeypatch.setenv("KEYTUI_NOW", START.isoformat())  # the console's clock, which the checks move
    checked = []

    def instead_of_the_ui(app) -> None:
        vault, clock = app.vault, app.vault.clock
        secret, _ = vault.enroll_mfa()

        def create(name: str, **kw):
            return vault.create(name, "agents", ["execute"], "sandbox", expires_in_days=30, **kw)

        with pytest.raises(RuleError, match="requires MFA"):
            create("Before any code")
        create("First", totp=totp_code(secret, clock.now()))
        opened = clock.now()
        clock.set(opened + timedelta(seconds=CONSOLE_WINDOW_S - 1))
        create("Second, no code needed")
        clock.set(opened + timedelta(seconds=CONSOLE_WINDOW_S))
        with pytest.raises(RuleError, match="requires MFA"):
            create("After the window")
        checked.append(vault.count_keys())

    monkeypatch.setattr(KeytuiApp, "run", instead_of_the_ui)
    assert run_console(Namespace(home=str(home), operator="alice", read_only=False, demo=False)) == 0
    assert checked == [2]
