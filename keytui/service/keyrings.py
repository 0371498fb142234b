"""Exporting the verify-only keyring (keytui.keyfile) for a gateway host, audited: the file lets
its holder find token rows and re-seal rows, so who wrote one, and where, is on the record."""

from __future__ import annotations

from pathlib import Path

from keytui import keyfile
from keytui.service.context import Context


def export_verify_only(ctx: Context, path: Path) -> str:
    """Write the file (a new one, mode 0600); returns its absolute path. The audit entry and the
    file exist together or not at all: the file is written inside the audited transaction."""
    ctx.require_writable()
    path = path.absolute()
    with ctx.transaction():
        ctx.audit("keyring.export", None, kind="verify-only", file=str(path))
        keyfile.write(ctx.keyring, path)
    return str(path)
