"""TOTP for operators: single-use codes, the failure lock-out and the session MFA window."""

from __future__ import annotations

import pytest

from keytui import totp
from keytui.domain import RuleError
from keytui.service import Context, Vault


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_code_is_accepted_only_once(vault, mfa_code):
    code = mfa_code()
    vault.confirm_mfa(code)
    with pytest.raises(RuleError, match="already used"):
        vault.confirm_mfa(code)


def test_an_older_code_is_refused_after_a_newer_one_was_used(vault, mfa_code, clock):
    older = totp.code_for(mfa_code.secret, clock.now())
    vault.confirm_mfa(mfa_code())
    with pytest.raises(RuleError, match="already used"):
        vault.confirm_mfa(older)


def test_a_code_from_the_neighbouring_step_allows_for_clock_drift(vault, mfa_code, clock):
    code = mfa_code()
    clock.advance(seconds=totp.STEP_SECONDS)
    vault.confirm_mfa(code)


def test_repeated_failures_lock_the_operator_out_and_the_lock_out_is_audited(vault, mfa_code, clock):
    good = mfa_code()
    for _ in range(totp.MAX_FAILURES):
        with pytest.raises(RuleError, match="wrong code"):
            vault.confirm_mfa(wrong(good))
    with pytest.raises(RuleError, match="too many wrong codes"):
        vault.confirm_mfa(good)
    lockout = vault.audit_entries()[0]
    assert (lockout["action"], lockout["details"]["failures"]) == ("mfa.lockout", totp.MAX_FAILURES)
    clock.advance(seconds=totp.LOCK_SECONDS - 1)
    with pytest.raises(RuleError, match="too many wrong codes"):
        vault.confirm_mfa(totp.code_for(mfa_code.secret, clock.now()))
    clock.advance(seconds=1)
    vault.confirm_mfa(totp.code_for(mfa_code.secret, clock.now()))


def test_the_lock_out_holds_across_processes(vault, mfa_code, home, clock):
    good = mfa_code()
    for _ in range(totp.MAX_FAILURES):
        with pytest.raises(RuleError):
            vault.confirm_mfa(wrong(good))
    other = Vault.open(home, operator="alice", clock=clock)
    with pytest.raises(RuleError, match="too many wrong codes"):
        other.confirm_mfa(good)


def test_an_operator_without_enrolment_is_told_to_enrol(vault):
    with pytest.raises(RuleError, match="mfa enroll"):
        vault.confirm_mfa("123456")


def test_enrolment_is_audited_and_not_silently_replaced(vault, mfa_code):
    assert vault.has_mfa()
    assert vault.audit_entries()[0]["action"] == "mfa.enroll"
    with pytest.raises(RuleError, match="already enrolled"):
        vault.enroll_mfa()


def test_the_mfa_window_lets_an_operator_create_several_keys_in_a_row(vault, mfa_code, clock):
    session = Vault(Context(vault.ctx.db, vault.ctx.keyring, clock=clock, operator="alice", mfa_window_seconds=300))
    make = lambda name, **kw: session.create(name, "agents", ["execute"], "sandbox", expires_in_days=30, **kw)  # noqa: E731
    with pytest.raises(RuleError):
        make("Before any code")
    make("First", totp=mfa_code())
    clock.advance(seconds=299)
    make("Second")
    clock.advance(seconds=1)
    with pytest.raises(RuleError, match="requires MFA"):
        make("After the window")


def test_without_a_window_every_change_needs_its_own_code(vault, make_key, mfa_code):
    make_key("First", permissions=("execute",), totp=mfa_code())
    with pytest.raises(RuleError, match="requires MFA"):
        make_key("Second", permissions=("execute",))
