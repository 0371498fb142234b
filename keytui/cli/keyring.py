"""`keytui keyring export --verify-only FILE`: the keyring a verification-only gateway host runs
with (`keytui serve --keyring FILE`), holding no key that decrypts a token."""

from __future__ import annotations

from keytui.cli.common import EXIT_OK, emit, local_vault


def register(sub, parent) -> None:
    k = sub.add_parser("keyring", parents=[parent], help="key material for other hosts")
    ks = k.add_subparsers(dest="keyring_command", metavar="ACTION", required=True)
    p = ks.add_parser("export", parents=[parent],
                      help="write FILE for a verification-only gateway (keytui serve --keyring FILE; audited)")
    p.add_argument("--verify-only", action="store_true", required=True,
                   help="only the lookup pepper and row-integrity key: verifies, cannot decrypt or change")
    p.add_argument("file")
    p.set_defaults(handler=cmd_keyring_export)


def cmd_keyring_export(args) -> int:
    with local_vault(args, "keyring export") as vault:
        path = vault.export_verify_only_keyring(args.file)
    emit(args, {"file": path, "verify_only": True},
         f"Wrote {path}: a verify-only keyring (start a gateway host with keytui serve --keyring {path})")
    return EXIT_OK
