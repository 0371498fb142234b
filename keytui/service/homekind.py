"""What kind of home a database is: a real one, a demo home (built by `keytui demo`), or a test
home (marked by the test suite's fixtures).

Only demo and test homes honour KEYTUI_NOW: moving keytui's clock with an environment variable
would otherwise let anyone who can start keytui issue a production key valid until 2099, date
audit entries at will, or step past an MFA lock-out. The mark is a Meta row MAC'd under a key
derived from the master key, so a write to the database alone cannot turn a real home into a
demo home. Nothing in the CLI or the console marks a home as a test home.
"""

from __future__ import annotations

import hmac

from keytui.store.binding import using
from keytui.store import meta
from keytui.store.models import ApiKey, AuditEntry
from keytui.tokens import Keyring

HOME_KIND = "home_kind"
DEMO, TEST = "demo", "test"
PINNED_CLOCK_KINDS = (DEMO, TEST)


def _value(keyring: Keyring, kind: str) -> str:
    return f"{kind}:{keyring.seal('home kind', kind, keyring.check_value)}"


def kind(db, keyring: Keyring) -> str | None:
    """'demo' or 'test' for a home marked so (with a MAC this master key made), else None."""
    with using(db):
        value = meta.get(HOME_KIND)
    if value is None:
        return None
    claimed = value.split(":", 1)[0]
    return claimed if hmac.compare_digest(value, _value(keyring, claimed)) else None


def is_fresh(db) -> bool:
    """Nothing has happened in this home yet: no key and no audited change."""
    with using(db):
        return not ApiKey.select().exists() and not AuditEntry.select().exists()


def mark(db, keyring: Keyring, home_kind: str) -> None:
    if home_kind not in PINNED_CLOCK_KINDS:
        raise ValueError(f"home kind must be one of {PINNED_CLOCK_KINDS}")
    value = _value(keyring, home_kind)
    with using(db), db.atomic():
        meta.put(HOME_KIND, value)


def mark_test_home(home) -> None:
    """Let KEYTUI_NOW pin the clock in `home` (the test suite's CLI fixtures call this; no face does)."""
    from keytui.clock import Clock
    from keytui.service.context import Context

    ctx = Context.open(home, operator="test", clock=Clock())
    try:
        mark(ctx.db, ctx.keyring, TEST)
    finally:
        ctx.close()
