"""TOTP (RFC 6238) for operators: enrolment, single-use codes and a failure lock-out.

A code is accepted once: the time step it matched is stored and any code for that step or an
earlier one is refused, so a shoulder-surfed or logged code cannot be replayed. After
MAX_FAILURES wrong codes in a row the operator is locked out for LOCK_SECONDS.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp

STEP_SECONDS = 30
VALID_WINDOW = 1  # one step either side, for clock drift
MAX_FAILURES = 5
LOCK_SECONDS = 300
ISSUER = "keytui"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, operator: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=operator, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code equals `code` within the drift window, or None."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    step = int(now.timestamp()) // STEP_SECONDS
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        candidate = step + offset
        if pyotp.utils.strings_equal(totp.generate_otp(candidate), code):
            return candidate
    return None


def code_for(secret: str, now: datetime) -> str:
    """The current code (tests and the enrolment confirmation use it)."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).generate_otp(int(now.timestamp()) // STEP_SECONDS)


def lock_until(now: datetime) -> datetime:
    return now + timedelta(seconds=LOCK_SECONDS)
