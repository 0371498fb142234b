"""`keytui db copy --to URL`: the whole database into an empty PostgreSQL database or SQLite file."""

from __future__ import annotations

from keytui.cli.common import EXIT_OK, emit, local_vault


def register(sub, parent) -> None:
    d = sub.add_parser("db", parents=[parent], help="the database itself")
    ds = d.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    p = ds.add_parser("copy", parents=[parent],
                      help="copy every key, secret, event, rollup, alert, setting and the audit log into an empty "
                           "database (audited)")
    p.add_argument("--to", required=True, metavar="URL", help="postgresql://… or sqlite:///PATH (must be empty)")
    p.set_defaults(handler=cmd_db_copy)


def cmd_db_copy(args) -> int:
    with local_vault(args, "db copy") as vault:
        done = vault.copy_database(args.to)
    rows = done["rows"]
    emit(args, done, f"Copied {rows.get('api_key', 0)} keys, {rows.get('activity_event', 0)} events and "
                     f"{rows.get('audit_entry', 0)} audit entries ({sum(rows.values())} rows) to {done['to']}")
    return EXIT_OK
