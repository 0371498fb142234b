"""The headless face: `keytui <command>`; with no command, the console opens."""

from __future__ import annotations

import argparse
import importlib
import sys

from keytui.cli.common import EXIT_INPUT, EXIT_INTERNAL, EXIT_UNAVAILABLE, common_parent, fail, global_options

# Each module has register(subparsers, parent); a command's handler returns the exit code.
COMMAND_MODULES = ["keytui.cli.keys", "keytui.cli.core", "keytui.cli.serve", "keytui.cli.ops", "keytui.cli.scan",
                   "keytui.cli.home", "keytui.cli.roles", "keytui.cli.keyring",
                   "keytui.cli.db"]


class Parser(argparse.ArgumentParser):
    """A command-line mistake is refused like any other bad input: one line on stderr, exit 2
    (argparse's default prints the whole usage first). Subcommand parsers inherit this class."""

    def error(self, message: str):
        command = self.prog.removeprefix("keytui").strip()
        where = f"{command}: " if command else ""
        self.exit(EXIT_INPUT, f"keytui: {where}{message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="keytui", description="Manage a platform's API keys.")
    global_options(parser, suppress=False)
    parser.add_argument("--demo", action="store_true", help="open the console on a demo database (built if missing)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parent = common_parent()
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, parent)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; every way it can end maps to an exit code here, with one line on stderr."""
    from keytui.config import ConfigError
    from keytui.daemon import DaemonUnavailable
    from keytui.domain import InputError, NotFoundError, RuleError, StoreUnavailable

    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    try:
        if handler is None:
            if args.command:
                parser.parse_args([args.command, "--help"])
            from keytui.app import run_console

            return run_console(args)
        return handler(args) or 0
    except DaemonUnavailable as exc:
        return fail(str(exc), EXIT_UNAVAILABLE)
    except (InputError, RuleError, NotFoundError, ConfigError) as exc:
        return fail(str(exc).strip("'\""), EXIT_INPUT)
    except StoreUnavailable as exc:
        return fail(exc.message, EXIT_UNAVAILABLE)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 — one line and a code, never a traceback
        return unexpected(exc)


def unexpected(exc: Exception) -> int:
    """A fault outside keytui's own checks: a store fault found in the chain of causes, a file
    the command was told to use, or a bug (named by its place, not its message, which could
    quote a secret)."""
    import traceback

    from keytui.service import store_fault

    fault = store_fault(exc)
    if fault is not None:
        return fail(fault.message, EXIT_UNAVAILABLE)
    if isinstance(exc, OSError) and exc.filename:
        return fail(f"{exc.filename}: {(exc.strerror or type(exc).__name__).lower()}", EXIT_UNAVAILABLE)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "keytui" in f.filename] or [None]
    where = f" at {_short(frames[-1].filename)}:{frames[-1].lineno}" if frames[-1] else ""
    return fail(f"internal error ({type(exc).__name__}{where}); please report it with the command you ran",
                EXIT_INTERNAL)


def _short(filename: str) -> str:
    return filename[filename.rfind("keytui"):]


if __name__ == "__main__":
    sys.exit(main())
