"""The verify-only keyring file: what a gateway host needs to verify tokens and nothing more.

`keytui keyring export --verify-only FILE` writes the lookup pepper (to find a token's row by
its digest), the row-integrity key (to refuse a row edited behind keytui's back) and the master
key check (so the file is refused by another home's database). A host started with
KEYTUI_KEYRING=FILE (or `keytui serve --keyring FILE`) needs no master key: it verifies and
records every verification, and refuses to copy a token or change anything, because it holds
no key that decrypts a token, an MFA secret or signs the audit log.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path

from keytui.config import ConfigError, read_key_file
from keytui.tokens import Keyring

ENV_VAR = "KEYTUI_KEYRING"
FORMAT = "keytui verify-only keyring v1"


def from_environment() -> Keyring | None:
    """The keyring KEYTUI_KEYRING names, or None when it is not set (the master key is used)."""
    path = os.environ.get(ENV_VAR)
    return read(Path(path)) if path else None


def write(keyring: Keyring, path: Path) -> None:
    """A new file (never over an existing one, never through a symlink), readable by this user only."""
    body = json.dumps({"format": FORMAT, "pepper": base64.b64encode(keyring.pepper).decode(),
                       "integrity": base64.b64encode(keyring.integrity_key).decode(),
                       "check": keyring.check_value}, indent=1) + "\n"
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        raise ConfigError(f"keyring: {path} exists already; keytui never overwrites a key file") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(body)


def read(path: Path) -> Keyring:
    try:
        text = read_key_file(path)
    except OSError as exc:
        raise ConfigError(f"{ENV_VAR}: cannot read {path} ({exc.strerror})") from None
    if text is None:
        raise ConfigError(f"{ENV_VAR}: {path} does not exist")
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError
        pepper, integrity = (base64.b64decode(data[k], validate=True) for k in ("pepper", "integrity"))
        check = str(data["check"])
        if len(pepper) != 32 or len(integrity) != 32 or len(check) != 64:
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise ConfigError(f"{ENV_VAR}: {path} is not a keytui verify-only keyring "
                          "(make one with `keytui keyring export --verify-only FILE`)") from None
    return Keyring.for_verification(pepper, integrity, check)
