"""What every CLI command shares: global options, opening the vault, output and exit codes.

Exit codes: 0 success, 1 verification denied (or a check that failed, like `audit verify`),
2 bad input or a refused change, with one line on stderr and nothing written.

Human output shows stored and given text literally with control characters made visible
(keytui.text.visible): table cells and interpolated values are shown through `visible`, and
everything a human printer writes passes through `VisibleWriter` as a last guard. JSON output
escapes control characters itself (json.dump's ensure_ascii), so it stays exact and valid.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

from keytui.text import visible

EXIT_OK, EXIT_DENIED, EXIT_INPUT = 0, 1, 2


def global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Global options work before or after the subcommand (`keytui --json keys list` or `keytui keys list --json`)."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--home", metavar="DIR", default=default,
                        help="data directory holding the database and master key (default: $KEYTUI_HOME or the user data dir)")
    parser.add_argument("--operator", metavar="NAME", default=default, help="who is acting (default: the OS user)")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="machine-readable output")
    parser.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="refuse every change (reviewers)")


def common_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    global_options(parent, suppress=True)
    return parent


def open_vault(args, **kwargs):
    from keytui.service import Vault

    return Vault.open(args.home, operator=args.operator, read_only=args.read_only, **kwargs)


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else "-"


def short_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


class VisibleWriter:
    """A text stream that makes control characters visible in every line written through it."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write("\n".join(visible(line) for line in text.split("\n")))

    def flush(self) -> None:
        self.stream.flush()


def emit(args, data: Any, human: Callable[[], None] | str | None = None) -> None:
    if args.json:
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return
    real, sys.stdout = sys.stdout, VisibleWriter(sys.stdout)
    try:
        if callable(human):
            human()
        elif human is not None:
            print(human)
    finally:
        sys.stdout = real


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    rows = [["-" if c is None else visible(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def fail(message: str, code: int = EXIT_INPUT) -> int:
    print(f"keytui: {visible(message)}", file=sys.stderr)
    return code
