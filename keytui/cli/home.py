"""`keytui init`: create a home's database on purpose, the one way to start a used home afresh."""

from __future__ import annotations

from keytui.cli.common import EXIT_OK, emit


def register(sub, parent) -> None:
    p = sub.add_parser("init", parents=[parent],
                       help="create the home's database (also after it was lost: keeps the master key)")
    p.add_argument("--fresh", action="store_true",
                   help="also replace an empty or damaged keytui.db (moved aside, never deleted)")
    p.set_defaults(handler=cmd_init)


def cmd_init(args) -> int:
    from keytui.domain import RuleError
    from keytui.service import initialise_home

    if args.read_only:
        raise RuleError("init: creating a database is a change; run it without --read-only")
    done = initialise_home(args.home, fresh=args.fresh)
    emit(args, {"done": done}, done[:1].upper() + done[1:] + ".")
    return EXIT_OK
