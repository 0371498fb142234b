"""`keytui db copy --to URL`: moving a home's database up to PostgreSQL (or back to a file),
audited in the source once the copy has committed; the URL's credentials are never recorded."""

from __future__ import annotations

from keytui.service.context import Context
from keytui.store import copying


def copy_to(ctx: Context, url: str) -> dict:
    ctx.require_writable()
    where = copying.safe_url(url)
    target = copying.connect(url)
    try:
        with ctx.faults():
            copied = copying.copy_all(ctx.db, target)
    finally:
        target.close()
    with ctx.transaction():
        ctx.audit("db.copy", None, to=where, rows=copied)
    return {"to": where, "rows": copied}
