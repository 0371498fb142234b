"""Operators' MFA: enrolment, single-use codes with a lock-out, and the console's MFA window.

The TOTP arithmetic is in keytui.totp; this module keeps the state (the encrypted secret, the
last step used, failures and lock-out) and the rules around it.
"""

from __future__ import annotations

from datetime import timedelta

from keytui import totp
from keytui.domain import RuleError, validate_operator
from keytui.service.context import Context, uses_store
from keytui.store.models import Operator


@uses_store
def has_mfa(ctx: Context, operator: str | None = None) -> bool:
    found = Operator.get_or_none(Operator.name == (operator or ctx.operator))
    return bool(found and found.totp_secret)


@uses_store
def enroll(ctx: Context, operator: str | None = None, *, replace_existing: bool = False,
           totp_code: str | None = None) -> tuple[str, str]:
    """Returns (secret, otpauth URI), shown once to the operator.

    Replacing an authenticator needs a current code from the one being replaced (not an open
    MFA window): otherwise anyone at the operator's keyboard, or with the operator's name,
    could swap in their own device and clear a lock-out.
    """
    ctx.require_writable()
    name = validate_operator(operator) if operator else ctx.operator
    if replace_existing and has_mfa(ctx, name):
        _check_code(ctx, name, totp_code, "totp: replacing an authenticator needs a current code from the old "
                                         "one (--totp CODE)")
    secret = totp.new_secret()
    with ctx.transaction():
        found = Operator.get_or_none(Operator.name == name)
        if found and found.totp_secret and not replace_existing:
            raise RuleError(f"operator: {name} is already enrolled; use --replace --totp CODE to enrol a new device")
        blob = ctx.keyring.encrypt_mfa(secret, name)
        if found is None:
            Operator.create(name=name, totp_secret=blob, enrolled_at=ctx.now())
        else:
            Operator.update(totp_secret=blob, enrolled_at=ctx.now(), last_totp_step=None, failed_attempts=0,
                            locked_until=None).where(Operator.id == found.id).execute()
        ctx.audit("mfa.enroll", None, operator=name, replaced=bool(found and found.totp_secret))
    return secret, totp.provisioning_uri(secret, name)


def window_open(ctx: Context) -> bool:
    return ctx.mfa_until is not None and ctx.now() < ctx.mfa_until


class MfaRequired(RuleError):
    """The change needs the operator's TOTP code (none given, or a wrong or used one): the
    console asks for one and tries again."""

    def __init__(self, message: str):
        super().__init__(message, field="totp")


@uses_store
def confirm(ctx: Context, code: str | None) -> None:
    """Check the operator's TOTP code (single use, rate-limited) or an open MFA window.

    Failures are committed even though the caller's change will not happen, so the
    lock-out counts them.
    """
    if window_open(ctx):
        return
    _check_code(ctx, ctx.operator, code, "totp: execute/admin permission requires MFA; give the operator's "
                                        "current TOTP code")
    if ctx.mfa_window_seconds:
        ctx.mfa_until = ctx.now() + timedelta(seconds=ctx.mfa_window_seconds)


def _check_code(ctx: Context, name: str, code: str | None, missing: str) -> None:
    """The operator's code is good (single use, counted against the lock-out), or MfaRequired."""
    if not code:
        raise MfaRequired(missing)
    now = ctx.now()
    with ctx.transaction():
        found = Operator.get_or_none(Operator.name == name)
        if found is None or not found.totp_secret:
            raise MfaRequired(f"totp: operator {name} has no MFA enrolled; run `keytui mfa enroll` first")
        if found.locked_until and found.locked_until > now:
            wait = int((found.locked_until - now).total_seconds()) + 1
            raise MfaRequired(f"totp: too many wrong codes; try again in {wait} s")
        failure = _record_attempt(ctx, found, code, now)
    if failure:
        raise MfaRequired(failure)


def _record_attempt(ctx: Context, found: Operator, code: str, now) -> str | None:
    """Judge the code and store the outcome (step used, or one more failure and maybe a
    lock-out); returns why it failed, or None."""
    step = totp.matching_step(ctx.keyring.decrypt_mfa(found.totp_secret, found.name), code, now)
    if step is not None and found.last_totp_step is not None and step <= found.last_totp_step:
        failure = "totp: this code was already used; wait for the next code"
    elif step is None:
        failure = "totp: wrong code (6 digits from the operator's authenticator)"
    else:
        Operator.update(last_totp_step=step, failed_attempts=0, locked_until=None).where(
            Operator.id == found.id).execute()
        return None
    failures = found.failed_attempts + 1
    locked = totp.lock_until(now) if failures >= totp.MAX_FAILURES else None
    Operator.update(failed_attempts=0 if locked else failures, locked_until=locked).where(
        Operator.id == found.id).execute()
    if locked:
        ctx.audit("mfa.lockout", None, operator=found.name, failures=failures, locked_until=locked.isoformat())
    return failure
