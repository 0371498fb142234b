"""`keytui verify`, `keytui audit ...`, `keytui mfa ...`."""

from __future__ import annotations

import sys

from keytui import tokens
from keytui.cli.common import EXIT_DENIED, EXIT_INPUT, EXIT_OK, emit, fail, open_vault, table
from keytui.domain import InputError
from keytui.text import visible


def register(sub, parent) -> None:
    p = sub.add_parser("verify", parents=[parent], help="check a token as a service would (recorded in the activity log)")
    p.add_argument("token", help="the token, or - to read it from stdin")
    p.add_argument("--environment", required=True)
    p.add_argument("--permission")
    p.add_argument("--scope")
    p.add_argument("--ip")
    p.add_argument("--module", help="calling module (agents, workflows, ci, ...)")
    p.set_defaults(handler=cmd_verify)

    audit = sub.add_parser("audit", parents=[parent], help="the tamper-evident audit log")
    aus = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    p = aus.add_parser("list", parents=[parent], help="audit entries, newest first")
    p.add_argument("--key", metavar="KEY_ID")
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(handler=cmd_audit_list)
    p = aus.add_parser("verify", parents=[parent], help="check the HMAC chain and every key row (exit 1 if tampered)")
    p.add_argument("--against", metavar="FILE", help="also check the anchors recorded in FILE (roll-back)")
    p.set_defaults(handler=cmd_audit_verify)
    p = aus.add_parser("anchor", parents=[parent], help="a MAC'd statement of the log's head, to keep elsewhere")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--output", metavar="FILE", help="append it to FILE (created 0600)")
    where.add_argument("--syslog", action="store_true", help="send it to syslog (auth facility)")
    p.set_defaults(handler=cmd_audit_anchor)
    p = aus.add_parser("reanchor", parents=[parent], help="accept the breaks `audit verify` reports (MFA, audited)")
    p.add_argument("--totp", metavar="CODE", help="the operator's current TOTP code")
    p.set_defaults(handler=cmd_audit_reanchor)

    m = sub.add_parser("mfa", parents=[parent], help="operator TOTP enrolment")
    ms = m.add_subparsers(dest="mfa_command", metavar="ACTION", required=True)
    p = ms.add_parser("enroll", parents=[parent], help="enrol an authenticator; prints the secret once")
    p.add_argument("--replace", action="store_true", help="replace an existing enrolment (needs --totp)")
    p.add_argument("--totp", metavar="CODE", help="a current code from the authenticator being replaced")
    p.set_defaults(handler=cmd_mfa_enroll)
    p = ms.add_parser("status", parents=[parent], help="is the operator enrolled?")
    p.set_defaults(handler=cmd_mfa_status)


def cmd_verify(args) -> int:
    token = sys.stdin.readline().strip() if args.token == "-" else args.token
    if tokens.token_environment(token) is None:
        # typed by a person, so a typo is bad input (exit 2, nothing recorded); services calling
        # verify() directly get NOT_FOUND and an activity event instead
        raise InputError("token", "not a keytui token (kt_<dev|sbx|stg|prod>_<33 base62>_<6-character checksum>); "
                                  "check for a cut or mistyped character")
    result = open_vault(args).verify(token, args.environment, args.permission, args.scope, args.ip, args.module)
    emit(args, result.as_dict(), f"{result.code.value}" + (f" {result.key_id}" if result.key_id else ""))
    return EXIT_OK if result.valid else EXIT_DENIED


def cmd_audit_list(args) -> int:
    entries = open_vault(args).audit_entries(key_id=args.key, limit=args.limit)
    emit(args, entries, lambda: table([(e["seq"], e["ts"][:19], e["operator"], e["action"], e["key_id"],
                                        _details(e["details"])) for e in entries],
                                      ["SEQ", "TIME", "OPERATOR", "ACTION", "KEY", "DETAILS"]))
    return EXIT_OK


def _details(details: dict) -> str:
    return visible(", ".join(f"{k}={v}" for k, v in details.items() if v not in (None, [], "")))[:100]


def cmd_audit_verify(args) -> int:
    vault = open_vault(args)
    report = vault.verify_audit()
    data = report.as_dict()
    problems = list(report.problems)
    if args.against:
        checked = vault.check_anchors(read_lines(args.against))
        data["anchors"] = {"checked": checked.anchors, "problems": checked.problems}
        problems += checked.problems
    data["ok"] = not problems
    if not problems:
        against = f", {data['anchors']['checked']} anchors hold" if args.against else ""
        earlier = f" ({report.acknowledged} earlier problems re-anchored)" if report.acknowledged else ""
        emit(args, data, f"Audit log intact: {report.entries} entries, chain and head anchor verified{against}."
                         f"{earlier}")
        return EXIT_OK
    if args.json:
        emit(args, data)
    fail(f"audit log TAMPERED: {problems[0]}", EXIT_DENIED)
    for extra in problems[1:]:
        fail(f"also: {extra}")
    return EXIT_DENIED


def read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.readlines()
    except OSError as exc:
        raise InputError("against", f"cannot read {visible(path)}: {exc.strerror}") from None


def cmd_audit_anchor(args) -> int:
    line = open_vault(args).audit_anchor()
    if args.output:
        write_anchor(args.output, line)
    elif args.syslog:
        import syslog

        syslog.openlog("keytui", 0, syslog.LOG_AUTH)
        syslog.syslog(syslog.LOG_NOTICE, line)
    emit(args, {"anchor": line, "output": args.output, "syslog": args.syslog}, line)
    return EXIT_OK


def write_anchor(path: str, line: str) -> None:
    import os

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError as exc:
        raise InputError("output", f"cannot append to {visible(path)}: {exc.strerror}") from None


def cmd_audit_reanchor(args) -> int:
    accepted = open_vault(args).reanchor_audit(args.totp)
    emit(args, {"acknowledged": accepted},
         lambda: print("Re-anchored; accepted:\n" + "\n".join(f"  {p}" for p in accepted)))
    return EXIT_OK


def cmd_mfa_enroll(args) -> int:
    vault = open_vault(args)
    secret, uri = vault.enroll_mfa(replace_existing=args.replace, totp=args.totp)

    def human():
        print(f"MFA enrolled for {vault.operator}. Add this to your authenticator app now; it is shown once.")
        print(f"Secret: {secret}")
        print(f"URI:    {uri}")
        qr = _qr(uri)
        if qr:
            print(qr)

    emit(args, {"operator": vault.operator, "secret": secret, "uri": uri}, human)
    return EXIT_OK


def _qr(uri: str) -> str | None:
    """A terminal QR code when the optional `qrcode` package is installed."""
    try:
        import io

        import qrcode
    except ImportError:
        return None
    q = qrcode.QRCode(border=1)
    q.add_data(uri)
    out = io.StringIO()
    q.print_ascii(out=out)
    return out.getvalue()


def cmd_mfa_status(args) -> int:
    vault = open_vault(args)
    enrolled = vault.has_mfa()
    emit(args, {"operator": vault.operator, "enrolled": enrolled},
         f"{vault.operator}: {'enrolled' if enrolled else 'not enrolled (run keytui mfa enroll)'}")
    return EXIT_OK if enrolled else EXIT_INPUT
