"""What every CLI command shares: global options, opening the vault, output and exit codes.

Exit codes: 0 success, 1 verification denied (or a check that failed, like `audit verify`),
2 bad input or a refused change, 3 the store is unavailable or damaged (locked, full, read-only,
missing, corrupt, an unsafe home), 4 an internal error; every failure is one line on stderr,
never a traceback, and nothing is written.

Human output shows stored and given text literally with control characters made visible
(keytui.text.visible): table cells and interpolated values are shown through `visible`, and
everything a human printer writes passes through `VisibleWriter` as a last guard. JSON output
escapes control characters itself (json.dump's ensure_ascii), so it stays exact and valid.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

from keytui.domain import RuleError
from keytui.text import visible

EXIT_OK, EXIT_DENIED, EXIT_INPUT, EXIT_UNAVAILABLE, EXIT_INTERNAL = 0, 1, 2, 3, 4


def global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Global options work before or after the subcommand (`keytui --json keys list` or `keytui keys list --json`)."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--home", metavar="DIR", default=default,
                        help="data directory holding the database and master key (default: $KEYTUI_HOME or the user data dir)")
    parser.add_argument("--operator", metavar="NAME", default=default, help="who is acting (default: the OS user)")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="machine-readable output")
    parser.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="refuse every change (reviewers); with --socket: act as a viewer")
    parser.add_argument("--socket", metavar="PATH", default=default,
                        help="be a client of the keytui daemon at PATH (default: $KEYTUI_SOCKET; unset: embedded); "
                             "with serve: listen there")


def common_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    global_options(parent, suppress=True)
    return parent


def open_vault(args, *, reader: bool = False, **kwargs):
    """The vault for a command: the daemon's with --socket or $KEYTUI_SOCKET, else the home's, in
    process, where a `reader` (a command that changes nothing) opens the database read-only, so it
    neither waits behind a writer nor needs a writable home."""
    from keytui.daemon import open_vault as open_either

    return open_either(getattr(args, "socket", None), home=args.home, operator=args.operator,
                       read_only=args.read_only, reader=reader, **kwargs)


@contextmanager
def local_vault(args, command: str):
    """The home's own vault, in this process: for commands that write a file or reach a database
    on this host (never the daemon's host)."""
    from keytui.service import Vault

    if getattr(args, "socket", None):
        raise RuleError(f"{command}: run it on the home's own host, not through the daemon")
    vault = Vault.open(args.home, operator=args.operator, read_only=args.read_only)
    try:
        yield vault
    finally:
        vault.close()


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
