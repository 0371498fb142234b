"""External witnesses of the audit log: anchors.

The chain and its head anchor live in the database, so whoever can replace the database file
with an older copy (or restore an older head together with deleting later entries) rolls the
log back to a state that verifies. An anchor is a line kept outside the database — a file on
another machine, syslog — stating which entry was last and its MAC, MAC'd itself under a key
derived from the master key: `audit verify --against FILE` then finds any roll-back behind a
recorded anchor (an entry it recorded is gone or differs). Without the master key nobody can
write an anchor that verifies; anyone holding it can do everything anyway.

    keytui-anchor v1 seq=1234 mac=<64 hex> at=2026-11-27T09:00:00+00:00 sig=<64 hex>
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Iterable

from keytui.service.context import Context, uses_store
from keytui.store.models import AuditEntry

LINE_RE = re.compile(r"keytui-anchor v1 seq=(\d+) mac=([0-9a-f]{64}) at=(\S+) sig=([0-9a-f]{64})")


def _sign(ctx: Context, seq: int, mac: str, at: str) -> str:
    return ctx.keyring.seal("audit anchor v1", seq, mac, at)


@uses_store
def statement(ctx: Context) -> str:
    """The anchor line for the log as it is now."""
    last = AuditEntry.select(AuditEntry.seq, AuditEntry.mac).order_by(AuditEntry.seq.desc()).first()
    seq, mac = (last.seq, last.mac) if last else (0, "0" * 64)
    at = ctx.now().isoformat()
    return f"keytui-anchor v1 seq={seq} mac={mac} at={at} sig={_sign(ctx, seq, mac, at)}"


@dataclass(frozen=True)
class AnchorCheck:
    anchors: int  # valid anchor lines checked
    problems: list[str]


@uses_store
def check(ctx: Context, lines: Iterable[str]) -> AnchorCheck:
    """Every anchor found in `lines` must still hold: its entry is in the log with the same MAC."""
    problems: list[str] = []
    count = 0
    last = AuditEntry.select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).scalar() or 0
    for number, line in enumerate(lines, 1):
        match = LINE_RE.search(line)
        if not match:
            continue
        seq, mac, at, sig = int(match[1]), match[2], match[3], match[4]
        if not hmac.compare_digest(sig, _sign(ctx, seq, mac, at)):
            problems.append(f"anchor on line {number} was not written with this master key (forged or altered)")
            continue
        count += 1
        if seq == 0:
            continue
        entry = AuditEntry.get_or_none(AuditEntry.seq == seq)
        if seq > last or entry is None:
            problems.append(f"rolled back: the anchor of {at} recorded entry {seq}; the log now ends at entry {last}")
        elif not hmac.compare_digest(entry.mac, mac):
            problems.append(f"rolled back or replaced: entry {seq} differs from the anchor of {at}")
    return AnchorCheck(count, problems)
