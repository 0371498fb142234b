"""`keytui alerts channel …`, `keytui alerts test NAME`, `keytui alerts deliver`: alerts that
reach someone who is not looking at the console."""

from __future__ import annotations

from keytui.cli.common import EXIT_DENIED, EXIT_OK, emit, open_vault, short_time, table
from keytui.domain import InputError


def register(alerts_parser, parent) -> None:
    """Subcommands of `keytui alerts` (without one, `keytui alerts` lists alerts)."""
    sub = alerts_parser.add_subparsers(dest="alerts_command", metavar="ACTION")
    ch = sub.add_parser("channel", parents=[parent], help="where alerts are delivered: webhooks and syslog")
    cs = ch.add_subparsers(dest="channel_command", metavar="ACTION", required=True)
    p = cs.add_parser("add", parents=[parent], help="add a webhook or syslog channel (audited)")
    p.add_argument("name", help="1-32 of a-z 0-9 . _ -")
    p.add_argument("kind", choices=["webhook", "syslog"])
    p.add_argument("url", nargs="?", help="webhook: the http(s) URL alerts are POSTed to")
    p.add_argument("--secret-file", metavar="FILE", help="webhook: file holding the HMAC signing secret")
    p.add_argument("--address", metavar="HOST:PORT|PATH",
                   help="syslog: UDP HOST:PORT, or a local socket path (default /dev/log)")
    p.add_argument("--min-severity", default="low", help="low, medium or high (default low: every alert)")
    p.set_defaults(handler=cmd_channel_add)
    p = cs.add_parser("list", parents=[parent], help="the channels, and any the org policy requires")
    p.set_defaults(handler=cmd_channel_list)
    p = cs.add_parser("remove", parents=[parent], help="remove a channel (audited)")
    p.add_argument("name")
    p.set_defaults(handler=cmd_channel_remove)

    p = sub.add_parser("test", parents=[parent], help="send a test alert through a channel now (exit 1 if not delivered)")
    p.add_argument("name")
    p.set_defaults(handler=cmd_test)
    p = sub.add_parser("deliver", parents=[parent], help="send the alerts that are due now (the watch does this each pass)")
    p.set_defaults(handler=cmd_deliver)


def _secret(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read(4096)
    except OSError as exc:
        raise InputError("secret-file", f"cannot read it: {exc.strerror}") from None


def cmd_channel_add(args) -> int:
    if args.kind == "webhook" and not args.url:
        raise InputError("url", "a webhook channel needs its URL: keytui alerts channel add NAME webhook URL "
                                "--secret-file FILE")
    if args.kind == "syslog" and (args.url or args.secret_file):
        raise InputError("address", "a syslog channel takes --address HOST:PORT or a socket path, no URL or secret")
    if args.kind == "webhook" and args.address:
        raise InputError("address", "is for syslog channels; a webhook takes a URL")
    view = open_vault(args).add_alert_channel(args.name, args.kind, url=args.url, secret=_secret(args.secret_file),
                                              address=args.address, min_severity=args.min_severity)
    emit(args, view.as_dict(), f"Added {view.kind} channel {view.name} -> {view.target} "
                               f"(alerts of severity {view.min_severity} and above).")
    return EXIT_OK


def cmd_channel_list(args) -> int:
    found = open_vault(args).alert_channels()

    def human():
        if not found:
            print("No alert channels (add one with `keytui alerts channel add`).")
            return
        table([(c.name, c.kind, c.target, c.min_severity, "signed" if c.signed else "-",
                short_time(c.created_at) if c.exists else "MISSING: required by the org policy") for c in found],
              ["NAME", "KIND", "TARGET", "MIN SEVERITY", "SIGNATURE", "ADDED"])

    emit(args, [c.as_dict() for c in found], human)
    return EXIT_OK


def cmd_channel_remove(args) -> int:
    dropped = open_vault(args).remove_alert_channel(args.name)
    emit(args, {"removed": args.name, "undelivered": dropped},
         f"Removed channel {args.name}" + (f"; {dropped} undelivered alerts marked failed." if dropped else "."))
    return EXIT_OK


def cmd_test(args) -> int:
    error = open_vault(args).test_alert_channel(args.name)
    emit(args, {"channel": args.name, "delivered": error is None, "error": error},
         f"Test alert delivered through {args.name}." if error is None
         else f"Test alert NOT delivered through {args.name}: {error}")
    return EXIT_OK if error is None else EXIT_DENIED


def cmd_deliver(args) -> int:
    report = open_vault(args).deliver_alerts()
    emit(args, report.as_dict(), f"{report.delivered} delivered, {report.retrying} to retry, {report.failed} failed"
                                 + "".join(f"\n  {name}: {error}" for name, error in report.errors.items()))
    return EXIT_OK


def delivery_state(alert) -> str:
    """One cell for `keytui alerts`: each channel's delivery state."""
    return ", ".join(f"{d.channel}:{d.status}" + (f"({d.attempts})" if d.status == "pending" and d.attempts else "")
                     for d in alert.deliveries) or "-"
