"""Where keytui keeps its data, and the master key that protects it.

The master key never lives in the database: it comes from KEYTUI_MASTER_KEY or a 0600 key
file beside the database, so a copied database file alone reveals no token.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "keytui"
DB_FILE = "keytui.db"
KEY_FILE = "master.key"


class ConfigError(Exception):
    """A setting is unusable; the message names it and what is allowed."""


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None = None

    @property
    def db_path(self) -> Path:
        return self.home / DB_FILE

    @property
    def key_path(self) -> Path:
        return self.home / KEY_FILE


def default_home() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def demo_home() -> Path:
    """The demo database lives apart from the real one so demo keys never mix with real keys."""
    return default_home() / "demo"


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    if home:
        return Path(home).expanduser()
    env = os.environ.get("KEYTUI_HOME")
    return Path(env).expanduser() if env else default_home()


def load_settings(home: str | os.PathLike | None = None) -> Settings:
    path = resolve_home(home)
    ensure_private_dir(path)
    return Settings(home=path, database_url=os.environ.get("KEYTUI_DATABASE_URL") or None)


def ensure_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def create_private_file(path: Path) -> None:
    """Create an empty 0600 file if missing (the database and key file are never world-readable).

    An existing file is never opened here: closing any descriptor of a SQLite file drops every
    lock this process holds on it, which corrupts the work of a connection already open on it
    (a second context on the same home in one process)."""
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


def load_master_key(settings: Settings) -> bytes:
    env = os.environ.get("KEYTUI_MASTER_KEY")
    if env:
        return _decode_key(env, "KEYTUI_MASTER_KEY")
    path = settings.key_path
    if not path.exists():
        _create_key_file(path)
    return _decode_key(path.read_text().strip(), str(path))


def _create_key_file(path: Path) -> None:
    """Write a new key beside the database and link it into place in one step, so processes
    starting together on a fresh home all end up with the one key that won (never a half-written file)."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won; its key is complete and is the one to use
    finally:
        os.unlink(draft)


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{source}: master key must be base64 of 32 bytes") from None
    if len(key) != 32:
        raise ConfigError(f"{source}: master key must be base64 of 32 bytes, got {len(key)} bytes")
    return key


def default_operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "operator")
