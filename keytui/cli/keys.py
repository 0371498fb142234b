"""`keytui keys ...`: the key lifecycle from a shell."""

from __future__ import annotations

import sys

from keytui.cli.common import EXIT_OK, emit, open_vault, short_time, table
from keytui.domain import EXPIRY_CHOICES
from keytui.text import visible


def register(sub, parent) -> None:
    keys = sub.add_parser("keys", help="create, list, rotate, revoke and copy API keys", parents=[parent])
    ks = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    _register_create(ks, parent)
    _register_reads(ks, parent)
    _register_changes(ks, parent)


def _register_create(ks, parent) -> None:
    p = ks.add_parser("create", parents=[parent], help="issue a new key and print its token once")
    p.add_argument("--name", required=True)
    p.add_argument("--scope", required=True, help="agents, workflows, governance, sandbox, demo-builds, integrations, monitoring")
    p.add_argument("--permission", action="append", required=True, help="read, write, execute, admin (repeat for more)")
    p.add_argument("--environment", required=True, help="development, sandbox, staging, production (dev, prod)")
    exp = p.add_mutually_exclusive_group()
    exp.add_argument("--expires-in", metavar="DAYS", help=f"expiry policy: {'/'.join(map(str, EXPIRY_CHOICES))} days")
    exp.add_argument("--expires-at", metavar="DATE", help="explicit future date (YYYY-MM-DD or ISO 8601)")
    exp.add_argument("--no-expiry", action="store_true", help="never expires (not allowed in production)")
    p.add_argument("--ip", action="append", metavar="CIDR", help="allow only these addresses/CIDRs (repeat)")
    p.add_argument("--owner", help="user or system owning the key (default: the operator)")
    p.add_argument("--totp", metavar="CODE", help="operator's TOTP code (needed for execute/admin)")
    p.add_argument("--canary", action="store_true",
                   help="a tripwire: its token looks real but never authorises, and any use raises a high alert")
    p.set_defaults(handler=cmd_create)


def _register_reads(ks, parent) -> None:
    p = ks.add_parser("list", parents=[parent], help="the registry")
    p.add_argument("--status", help="active, expired, revoked, or expiring (live keys inside the expiry-alert window)")
    p.add_argument("--environment")
    p.add_argument("--scope")
    p.add_argument("--search", metavar="TEXT", help="match name, id, owner or scope")
    p.add_argument("--sort", default="created_at", help="column to sort by (default created_at, newest first)")
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(handler=cmd_list)

    p = ks.add_parser("show", parents=[parent], help="every field, secrets and history of one key")
    p.add_argument("key_id")
    p.set_defaults(handler=cmd_show)

    p = ks.add_parser("export", parents=[parent], help="export the registry (never tokens)")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(handler=cmd_export)


def _register_changes(ks, parent) -> None:
    p = ks.add_parser("rotate", parents=[parent], help="new token; the old one works for a grace period")
    p.add_argument("key_id")
    p.add_argument("--grace-hours", default=None, help="hours the old token keeps working (default 24, 0 allowed)")
    p.add_argument("--expires-in", default=None, metavar="DAYS",
                   help="a new expiry policy from now on (30, 60 or 90 days), e.g. to meet the org policy")
    p.set_defaults(handler=cmd_rotate)

    p = ks.add_parser("end-grace", parents=[parent],
                      help="stop a rotation's old token now, once no caller presents it any more")
    p.add_argument("key_id")
    p.add_argument("--force", action="store_true", help="even if the old token was presented within the last hour")
    p.set_defaults(handler=cmd_end_grace)

    p = ks.add_parser("regenerate", parents=[parent], help="new token; the old one stops at once")
    p.add_argument("key_id")
    p.set_defaults(handler=cmd_regenerate)

    p = ks.add_parser("revoke", parents=[parent], help="revoke a key, immediately and permanently")
    p.add_argument("key_id")
    p.add_argument("--reason")
    p.set_defaults(handler=cmd_revoke)

    p = ks.add_parser("restore", parents=[parent], help="(always refused: revoked keys cannot be restored)")
    p.add_argument("key_id")
    p.set_defaults(handler=lambda a: _vault(a).restore(a.key_id))

    p = ks.add_parser("edit", parents=[parent], help="change name, owner, IP allowlist or permissions")
    p.add_argument("key_id")
    p.add_argument("--name")
    p.add_argument("--owner")
    p.add_argument("--ip", action="append", metavar="CIDR", help="replace the allowlist (repeat)")
    p.add_argument("--clear-ip", action="store_true", help="remove every IP restriction")
    p.add_argument("--permission", action="append", help="replace the permissions (repeat)")
    p.add_argument("--totp", metavar="CODE")
    p.set_defaults(handler=cmd_edit)

    p = ks.add_parser("copy", parents=[parent], help="print the current token (audited)")
    p.add_argument("key_id")
    p.add_argument("--totp", metavar="CODE", help="needed for production keys with execute/admin")
    p.set_defaults(handler=cmd_copy)


def _vault(args):
    return open_vault(args)


def _print_issued(args, issued, verb: str) -> None:
    k = issued.key

    def human():
        print(f"{verb} {k.key_id}  {visible(k.name)}  ({k.environment.value}, {k.scope.value}, {k.permissions_text})"
              f"  expires {short_time(k.expires_at) if k.expires_at else 'never'}")
        print("Token (shown once; store it now, it will not be shown again unless copied with the master key):")
        print(issued.token)

    emit(args, {"key": k.as_dict(), "token": issued.token}, human)


def cmd_create(args) -> int:
    vault = _vault(args)
    issued = vault.create(args.name, args.scope, args.permission, args.environment, expires_in_days=args.expires_in,
                          expires_at=args.expires_at, no_expiry=args.no_expiry, ip_allowlist=args.ip,
                          owner=args.owner, totp=args.totp, canary=args.canary)
    _print_issued(args, issued, "Created canary" if args.canary else "Created")
    return EXIT_OK


def _key_rows(views):
    return [(k.name, k.key_id, k.scope.value, k.owner, short_time(k.created_at),
             short_time(k.expires_at) if k.expires_at else "never", k.status.value.upper(),
             short_time(k.last_used_at), k.environment.value, k.permissions_text,
             " ".join(m for m in ("CANARY" if k.canary else "", "VIOLATION" if k.policy_violation else "") if m))
            for k in views]


KEY_HEADERS = ["NAME", "KEY ID", "SCOPE", "OWNER", "CREATED", "EXPIRES", "STATUS", "LAST USED", "ENVIRONMENT",
               "PERMISSIONS", "POLICY"]


def cmd_list(args) -> int:
    from keytui.service import KeyFilter

    vault = open_vault(args, reader=True)
    soon = vault.policy_settings()["expiry_alert_days"] if (args.status or "").strip().lower() == "expiring" else 7
    f = KeyFilter.parse(args.status, args.environment, args.scope, args.search, expiring_days=soon)
    views = vault.list_keys(f, sort=args.sort, limit=args.limit)
    emit(args, [k.as_dict() for k in views], lambda: table(_key_rows(views), KEY_HEADERS))
    return EXIT_OK


def cmd_show(args) -> int:
    vault = open_vault(args, reader=True)
    k = vault.get(args.key_id)
    secrets = vault.secrets(args.key_id)
    history = vault.audit_entries(key_id=k.key_id)
    traffic = vault.rotation_traffic(k.key_id)
    data = dict(k.as_dict(), secrets=[{"hint": s.hint, "origin": s.origin, "created_at": s.created_at.isoformat(),
                                        "valid_until": s.valid_until.isoformat() if s.valid_until else None,
                                        "ended_by": s.ended_by, "live": s.live} for s in secrets],
                history=history, rotation=traffic.as_dict() if traffic else None)

    def human():
        for field, value in k.as_dict().items():
            print(f"{field:>16}: {visible(value) if value not in (None, []) else '-'}")
        print("\nSecrets:")
        table([(s.hint, s.origin, short_time(s.created_at), short_time(s.valid_until) if s.valid_until else "key expiry",
                "live" if s.live else f"ended ({s.ended_by or 'expired'})") for s in secrets],
              ["HINT", "ORIGIN", "CREATED", "VALID UNTIL", "STATE"])
        if traffic:
            _print_traffic(traffic)
        print("\nHistory:")
        table([(h["ts"][:19], h["operator"], h["action"]) for h in history], ["TIME", "OPERATOR", "ACTION"])

    emit(args, data, human)
    return EXIT_OK


def _print_traffic(t) -> None:
    print(f"\nRotation in progress: the old token ({', '.join(t.old_hints)}) works until {short_time(t.grace_ends)}; "
          + ("it has gone quiet: end the grace period with `keytui keys end-grace " + t.key_id + "`"
             if t.quiet else f"last presented {short_time(t.old_last_used)}"))
    for label, callers in (("Still on the old token", t.old_callers), (f"On the new token ({t.new_hint})", t.new_callers)):
        print(f"{label}:")
        if callers:
            table([("  " + (c.ip or "-"), c.module, c.calls, c.failed, short_time(c.last_seen)) for c in callers],
                  ["  IP", "MODULE", "CALLS", "FAILED", "LAST SEEN"])
        else:
            print("  no callers since the rotation")


def cmd_end_grace(args) -> int:
    k = _vault(args).end_grace(args.key_id, force=args.force)
    emit(args, k.as_dict(), f"Ended the grace period of {k.key_id} ({k.name}): only the new token works now.")
    return EXIT_OK


def cmd_rotate(args) -> int:
    issued = _vault(args).rotate(args.key_id, args.grace_hours, expires_in_days=args.expires_in)
    _print_issued(args, issued, "Rotated")
    return EXIT_OK


def cmd_regenerate(args) -> int:
    issued = _vault(args).regenerate(args.key_id)
    _print_issued(args, issued, "Regenerated")
    return EXIT_OK


def cmd_revoke(args) -> int:
    k = _vault(args).revoke(args.key_id, args.reason)
    emit(args, k.as_dict(), f"Revoked {k.key_id} ({visible(k.name)}). This cannot be undone.")
    return EXIT_OK


def cmd_edit(args) -> int:
    ip = [] if args.clear_ip else args.ip
    k = _vault(args).update(args.key_id, name=args.name, owner=args.owner, ip_allowlist=ip,
                            permissions=args.permission, totp=args.totp)
    emit(args, k.as_dict(), f"Updated {k.key_id} ({visible(k.name)}): {k.permissions_text}; "
                            f"IP {', '.join(k.ip_allowlist) or 'any'}")
    return EXIT_OK


def cmd_copy(args) -> int:
    token = _vault(args).copy_token(args.key_id, args.totp)
    emit(args, {"key_id": args.key_id, "token": token}, token)
    return EXIT_OK


def cmd_export(args) -> int:
    vault = _vault(args)
    if args.output:
        n = _export_to_file(vault, args.format, args.output)
        print(f"Exported {n} keys to {visible(args.output)} ({args.format}).", file=sys.stderr)
    else:
        vault.export_registry(args.format, sys.stdout, destination="stdout")
    return EXIT_OK


def _export_to_file(vault, fmt: str, output: str) -> int:
    """Write the export beside `output` and move it into place only when it succeeded: a refused
    export (read-only, no audit entry) leaves an existing file as it was and creates none."""
    import os
    import tempfile

    target = os.path.abspath(output)
    fd, draft = tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.", suffix=".part")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(draft, 0o666 & ~umask)  # the mode open() would have given it
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            n = vault.export_registry(fmt, fh, destination=output)
        os.replace(draft, target)
    except BaseException:
        if os.path.exists(draft):
            os.unlink(draft)
        raise
    return n
