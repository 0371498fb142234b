"""Export Registry: every registry column as CSV or JSON, never a token, digest or ciphertext.

Rows are streamed a page at a time into a staging file (kept in memory while small), so
exporting 100,000 keys does not hold them all in memory; the staged export reaches its
destination only once its audit entry is written (no audit entry, no export).

A CSV is opened by spreadsheets, which run a cell starting with = + - @ (or tab or CR) as a
formula: such cells get a leading apostrophe, as OWASP recommends against CSV injection, and
control characters are made visible. JSON keeps every value exact (its escapes are inert).
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from typing import TextIO

from keytui.domain import InputError
from keytui.service import registry
from keytui.service.context import Context, uses_store
from keytui.service.registry import KeyFilter
from keytui.text import visible

COLUMNS = ["name", "key_id", "scope", "owner", "created_at", "expires_at", "status", "last_used_at",
           "environment", "permissions", "ip_allowlist", "policy_violation"]
PAGE = 2000
STAGE_IN_MEMORY = 8 * 1024 * 1024  # bytes; a larger export is staged in a temporary file
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return visible(text)


def _records(ctx: Context, key_filter: KeyFilter):
    offset = 0
    while True:
        page = registry.list_keys(ctx, key_filter, sort="created_at", descending=False, limit=PAGE, offset=offset)
        for view in page:
            record = view.as_dict()
            yield {c: record[c] for c in COLUMNS}
        if len(page) < PAGE:
            return
        offset += PAGE


@uses_store
def export_registry(ctx: Context, fmt: str, out: TextIO, *, key_filter: KeyFilter | None = None,
                    destination: str = "") -> int:
    """Write the registry to `out`; returns the number of keys. The export itself is audited."""
    if fmt not in ("csv", "json"):
        raise InputError("format", f"{fmt!r} is not an export format; allowed: csv, json")
    ctx.require_writable()
    with tempfile.SpooledTemporaryFile(max_size=STAGE_IN_MEMORY, mode="w+", newline="", encoding="utf-8") as staged:
        count = _write(ctx, fmt, staged, key_filter or KeyFilter())
        with ctx.transaction():
            ctx.audit("registry.export", None, format=fmt, keys=count, destination=destination)
        staged.seek(0)
        shutil.copyfileobj(staged, out)
    return count


def _write(ctx: Context, fmt: str, out: TextIO, key_filter: KeyFilter) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for rec in _records(ctx, key_filter):
            rec["permissions"] = ",".join(rec["permissions"])
            rec["ip_allowlist"] = ",".join(rec["ip_allowlist"])
            writer.writerow({c: csv_cell(v) for c, v in rec.items()})
            count += 1
    else:
        out.write("[")
        for rec in _records(ctx, key_filter):
            out.write(("," if count else "") + "\n  " + json.dumps(rec))
            count += 1
        out.write("\n]\n")
    return count
