"""`keytui scan PATH… [--git] [--revoke] [--offline]`: find keytui tokens where they do not belong.

Exit codes: 0 no live key found, 1 live keys found (with --offline: any well-formed token),
2 bad input. Tokens are never printed: a finding shows the token's hint (kt_prod_…abcd).
"""

from __future__ import annotations

import sys

from keytui import tokens
from keytui.cli import sources
from keytui.cli.common import EXIT_DENIED, EXIT_OK, emit, open_vault, table
from keytui.domain import InputError


def register(sub, parent) -> None:
    p = sub.add_parser("scan", parents=[parent],
                       help="find keytui tokens in files (and git history) and report which are live keys")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to search")
    p.add_argument("--git", action="store_true", help="also search every commit of these repositories")
    p.add_argument("--revoke", action="store_true",
                   help='revoke the live keys found ("leaked: <where>"), or alert if the policy says alert only')
    p.add_argument("--totp", metavar="CODE", help="needed by --revoke for production keys")
    p.add_argument("--offline", action="store_true",
                   help="check checksums only, without the store: every well-formed token counts as live")
    p.set_defaults(handler=cmd_scan)


def collect(args) -> tuple[list[sources.Hit], sources.Tally]:
    sources.check_paths(args.paths, args.git)
    tally = sources.Tally()
    hits = list(sources.files(args.paths, tally))
    if args.git:
        for repo in args.paths:
            hits += sources.history(repo, tally)
    return hits, tally


def _offline(hits: list[sources.Hit]) -> list[dict]:
    grouped: dict[str, list[str]] = {}
    for h in hits:
        if tokens.token_environment(h.token):
            grouped.setdefault(h.token, []).append(sources.shown(h.where))
    return [{"hint": tokens.hint(t), "state": "well-formed", "key_id": None, "name": None,
             "environment": tokens.token_environment(t).value, "why_dead": None, "action": None,
             "locations": places} for t, places in grouped.items()]


def cmd_scan(args) -> int:
    from keytui.service.leaks import Candidate

    if args.offline and args.revoke:
        raise InputError("offline", "--revoke needs the store; drop --offline")
    hits, tally = collect(args)
    if args.offline:
        found = _offline(hits)
        alarm = bool(found)
    else:
        vault = open_vault(args)
        candidates = [Candidate(h.token, h.where) for h in hits]
        findings = vault.respond_to_leaks(candidates, totp=args.totp) if args.revoke else vault.scan_report(candidates)
        found = [f.as_dict() for f in findings if f.state != "malformed"]
        alarm = any(f["state"] == "live" for f in found)
    for problem in tally.unreadable or []:
        print(f"keytui: scan: cannot read {problem}", file=sys.stderr)
    emit(args, {"findings": found, "live": sum(f["state"] in ("live", "well-formed") for f in found),
                "scanned": tally.as_dict()}, lambda: _human(found, tally))
    return EXIT_DENIED if alarm else EXIT_OK


STATE_ORDER = {"live": 0, "well-formed": 0, "canary": 1, "dead": 2, "unknown": 3}


def _human(found: list[dict], tally: sources.Tally) -> None:
    rows = []
    for f in sorted(found, key=lambda f: STATE_ORDER.get(f["state"], 9)):
        state = f["state"].upper() + (f" ({f['why_dead']})" if f["why_dead"] else "")
        if f["action"]:
            state += f", {f['action']}"
        for where in f["locations"]:
            rows.append((state, f["hint"], f["name"] or "-", f["key_id"] or "-", f["environment"] or "-", where))
    if rows:
        table(rows, ["STATE", "TOKEN", "KEY", "KEY ID", "ENVIRONMENT", "WHERE"])
        print()
    live = sum(f["state"] in ("live", "well-formed") for f in found)
    print(f"Scanned {tally.files} files"
          + (f" and {tally.blobs} blobs of git history" if tally.blobs else "")
          + (f" ({tally.skipped_binary} binary skipped)" if tally.skipped_binary else "")
          + f": {len(found)} token{'' if len(found) == 1 else 's'} found, {live} live.")
