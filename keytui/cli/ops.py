"""`keytui policy ...`, `keytui watch`, `keytui alerts`, `keytui demo`: running the platform's keys."""

from __future__ import annotations

import sys

from keytui.cli import alerting
from keytui.cli.common import EXIT_OK, emit, open_vault, short_time, table
from keytui.cli.core import write_anchor
from keytui.domain import InputError, ReadOnlyError
from keytui.text import visible


def register(sub, parent) -> None:
    pol = sub.add_parser("policy", parents=[parent], help="security & rotation policies and the org policy")
    ps = pol.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    p = ps.add_parser("show", parents=[parent], help="every setting, its default, and the active org policy")
    p.set_defaults(handler=cmd_policy_show)
    p = ps.add_parser("set", parents=[parent], help="change one setting (audited)")
    p.add_argument("name", help="e.g. auto_rotation, expiry_alert_days, ip_locking.production")
    p.add_argument("value", help="on/off, a number, or optional/required")
    p.set_defaults(handler=cmd_policy_set)
    p = ps.add_parser("apply", parents=[parent], help="validate and apply an org policy TOML file")
    p.add_argument("file", help="the policy file (see keytui/examples/org-policy.toml), or - for stdin")
    p.add_argument("--dry-run", action="store_true", help="report violating keys; store and flag nothing")
    p.set_defaults(handler=cmd_policy_apply)

    p = sub.add_parser("watch", parents=[parent], help="expire, auto-rotate, alert and detect (the background worker)")
    p.add_argument("--once", action="store_true", help="run one pass and exit")
    p.add_argument("--interval", type=float, default=60.0, metavar="S", help="seconds between passes (default 60)")
    p.add_argument("--anchor-file", metavar="FILE", help="append an audit anchor to FILE after each pass")
    p.set_defaults(handler=cmd_watch)

    p = sub.add_parser("alerts", parents=[parent], help="open alerts (acknowledge with --ack)")
    p.add_argument("--all", action="store_true", help="include acknowledged alerts")
    p.add_argument("--key", metavar="KEY_ID", help="only alerts about this key")
    p.add_argument("--ack", metavar="ID", action="append", help="acknowledge this alert (repeat for more)")
    p.add_argument("--limit", type=int, default=200)
    p.set_defaults(handler=cmd_alerts)
    alerting.register(p, parent)

    p = sub.add_parser("demo", parents=[parent], help="build a demo database (in --home or $KEYTUI_HOME)")
    p.add_argument("--keys", type=int, default=24, metavar="N", help="number of keys (default 24, the spec's figures)")
    p.add_argument("--events", type=int, default=None, metavar="M", help="activity events (default 150 per key)")
    p.add_argument("--seed", type=int, default=7, metavar="S", help="the same seed gives the same data")
    p.add_argument("--force", action="store_true",
                   help="add demo keys to a demo home that already holds keys (never to a home in real use)")
    p.set_defaults(handler=cmd_demo)


def cmd_policy_show(args) -> int:
    from keytui.service.policies import format_value

    vault = open_vault(args, reader=True)
    views = vault.policy_views()
    org = vault.org_policy_record()
    data = {"settings": {v.name: v.value for v in views},
            "org_policy": org}

    def human():
        table([(v.name, v.text, format_value(v.default), short_time(v.updated_at), v.updated_by, v.help)
               for v in views], ["POLICY", "VALUE", "DEFAULT", "CHANGED", "BY", "MEANING"])
        print()
        if org:
            print(f"Org policy: {visible(org['name'])} (applied {org['applied_at'][:16]} by {visible(org['applied_by'])}, "
                  f"sha256 {org['sha256'][:12]})")
        else:
            print("Org policy: none (apply one with `keytui policy apply FILE`)")

    emit(args, data, human)
    return EXIT_OK


def cmd_policy_set(args) -> int:
    from keytui.service.policies import format_value

    name, value = open_vault(args).set_policy(args.name, args.value)
    emit(args, {"name": name, "value": value}, f"{name} = {format_value(value)}")
    return EXIT_OK


def cmd_policy_apply(args) -> int:
    from keytui.service.orgpolicy import MAX_POLICY_BYTES

    try:  # never more than one byte past the cap: a 16 MB file is refused without reading it all
        if args.file == "-":
            data = sys.stdin.buffer.read(MAX_POLICY_BYTES + 1)
        else:
            with open(args.file, "rb") as fh:
                data = fh.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise InputError("file", f"cannot read {visible(args.file)}: {exc.strerror}") from None
    if len(data) > MAX_POLICY_BYTES:
        raise InputError("org policy", f"is over {MAX_POLICY_BYTES} bytes; at most {MAX_POLICY_BYTES} allowed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("file", "is not UTF-8 text") from None
    report = open_vault(args).apply_org_policy(text, dry_run=args.dry_run)

    def human():
        verb = "Would apply" if report.dry_run else "Applied"
        print(f"{verb} org policy {visible(report.policy.name)!r}: {report.checked} live keys checked, "
              f"{len(report.violations)} violate it"
              + ("" if report.dry_run else f" ({report.flagged} flagged, {report.cleared} cleared)") + ".")
        if report.violations:
            table([(v.key_id, v.name, v.environment, "; ".join(v.reasons)) for v in report.violations],
                  ["KEY ID", "NAME", "ENVIRONMENT", "VIOLATIONS"])

    emit(args, report.as_dict(), human)
    return EXIT_OK


def cmd_watch(args) -> int:
    if args.interval <= 0:
        raise InputError("interval", f"{args.interval:g} is not allowed; give a number of seconds above 0")
    vault = open_vault(args)

    def show(report):
        if args.anchor_file:
            write_anchor(args.anchor_file, vault.audit_anchor())
        emit(args, report.as_dict(), report.summary())
        sys.stdout.flush()

    if args.once:
        show(vault.run_watch_pass())
        return EXIT_OK
    def unreachable(fault):
        print(f"keytui: watch: {fault.message} (trying again in {args.interval:g} s)", file=sys.stderr, flush=True)

    passes = vault.watch_loop(interval=args.interval, on_report=show, handle_signals=True, on_fault=unreachable)
    print(f"watch stopped after {passes} passes", file=sys.stderr)
    return EXIT_OK


def cmd_alerts(args) -> int:
    vault = open_vault(args, reader=not args.ack)
    if args.ack:
        done = [vault.acknowledge_alert(a) for a in args.ack]
        emit(args, [a.as_dict() for a in done],
             "\n".join(f"Acknowledged alert {a.id} ({visible(a.kind)}) by {visible(a.acknowledged_by)}." for a in done))
        return EXIT_OK
    found = vault.alerts(include_acknowledged=args.all, key_id=args.key, limit=args.limit)

    def human():
        if not found:
            print("No open alerts." if not args.all else "No alerts.")
            return
        table([(a.id, short_time(a.created_at), a.severity.upper(), a.kind, a.key_name or a.key_id, a.ip,
                a.message[:90], "ack " + short_time(a.acknowledged_at) if a.acknowledged_at else "open",
                alerting.delivery_state(a)) for a in found],
              ["ID", "TIME", "SEVERITY", "KIND", "KEY", "IP", "MESSAGE", "STATE", "DELIVERY"])

    emit(args, [a.as_dict() for a in found], human)
    return EXIT_OK


def cmd_demo(args) -> int:
    if args.read_only:  # refused before opening: a read-only open never creates a home's database
        raise ReadOnlyError("demo: building demo data is a change; keytui is open read-only")
    vault = open_vault(args, new_demo=True)
    report = vault.build_demo(keys=args.keys, events=args.events, seed=args.seed, force=args.force)
    home = vault.settings.home if vault.settings else "-"
    data = dict(report.__dict__, home=str(home))

    def human():
        print(f"Demo data in {home}: {report.keys} keys ({report.active} active, {report.expired} expired, "
              f"{report.revoked} revoked), {report.events} events, {report.alerts} open alerts, "
              f"built in {report.seconds:.1f} s.")
        print(f"Open it with: keytui --home {home}")

    emit(args, data, human)
    return EXIT_OK

