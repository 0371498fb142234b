"""The headless face: `keytui <command>`; with no command, the console opens."""

from __future__ import annotations

import argparse
import importlib
import sys

from keytui.cli.common import EXIT_INPUT, common_parent, fail, global_options

# Each module has register(subparsers, parent); a command's handler returns the exit code.
COMMAND_MODULES = ["keytui.cli.keys", "keytui.cli.core", "keytui.cli.serve", "keytui.cli.ops"]


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
    from keytui.config import ConfigError
    from keytui.domain import InputError, NotFoundError, RuleError

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
    except (InputError, RuleError, NotFoundError, ConfigError) as exc:
        return fail(str(exc).strip("'\""), EXIT_INPUT)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
