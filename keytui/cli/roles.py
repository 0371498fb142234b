"""`keytui roles ...` and `keytui whoami`: who may do what when keytui runs as a daemon."""

from __future__ import annotations

from keytui.cli.common import EXIT_OK, emit, open_vault, table


def register(sub, parent) -> None:
    r = sub.add_parser("roles", parents=[parent], help="the daemon's users and their roles (viewer, operator, admin)")
    rs = r.add_subparsers(dest="roles_command", metavar="ACTION", required=True)
    p = rs.add_parser("list", parents=[parent], help="every user with a role")
    p.set_defaults(handler=cmd_roles_list)
    p = rs.add_parser("grant", parents=[parent], help="give USER a role (admin; audited)")
    p.add_argument("user")
    p.add_argument("role", help="viewer, operator or admin")
    p.set_defaults(handler=cmd_roles_grant)
    p = rs.add_parser("revoke", parents=[parent], help="take USER's role away (admin; audited)")
    p.add_argument("user")
    p.set_defaults(handler=cmd_roles_revoke)

    p = sub.add_parser("whoami", parents=[parent], help="who keytui says you are, and your role")
    p.set_defaults(handler=cmd_whoami)


def cmd_roles_list(args) -> int:
    found = open_vault(args).roles()
    emit(args, found, lambda: table([(r["user"], r["role"] if r["intact"] else f"{r['role']} (seal broken: none)",
                                      r["granted_at"][:16], r["granted_by"]) for r in found],
                                    ["USER", "ROLE", "GRANTED", "BY"]) if found else print("No roles granted."))
    return EXIT_OK


def cmd_roles_grant(args) -> int:
    done = open_vault(args).grant_role(args.user, args.role)
    emit(args, done, f"{done['user']} is now {done['role']}" + (f" (was {done['previous']})" if done["previous"] else ""))
    return EXIT_OK


def cmd_roles_revoke(args) -> int:
    done = open_vault(args).revoke_role(args.user)
    emit(args, done, f"{done['user']} has no role now (was {done['previous']})")
    return EXIT_OK


def cmd_whoami(args) -> int:
    me = open_vault(args).whoami()
    emit(args, me, f"{me['user']} · {me['role']}" + (" · read-only" if me.get("read_only") else ""))
    return EXIT_OK
