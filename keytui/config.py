"""Where keytui keeps its data, and the master key that protects it.

The master key never lives in the database: it comes from KEYTUI_MASTER_KEY or a 0600 key
file beside the database, so a copied database file alone reveals no token.
"""

from __future__ import annotations

import base64
import binascii
import errno
import getpass
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from keytui.domain import StoreUnavailable

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


def load_settings(home: str | os.PathLike | None = None, *, create: bool = True) -> Settings:
    """The settings for a home; with `create`, the home (and missing parents) is made private."""
    path = resolve_home(home)
    if create:
        ensure_private_dir(path)
    return Settings(home=path, database_url=os.environ.get("KEYTUI_DATABASE_URL") or None)


def ensure_private_dir(path: Path) -> None:
    """Create the home and every missing parent 0700, whatever the umask (mkdir's `parents`
    would give the parents 0777 & ~umask: 0777 under `umask 000`)."""
    missing = []
    for folder in [path, *path.parents]:
        if folder.exists() or folder.is_symlink():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue  # another process made it; check_home judges it
        os.chmod(folder, 0o700)


def check_home(path: Path) -> None:
    """Refuse a home someone else could tamper with: a symlink (it could be pointed elsewhere),
    a folder owned by another user, or one that others may write to (they could plant a key
    file or swap the database)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise StoreUnavailable("missing", f"{path} does not exist: run keytui once without --read-only "
                                          "to create it") from None
    if stat.S_ISLNK(st.st_mode):
        raise StoreUnavailable("unsafe", f"{path} is a symlink: give the real folder as the home "
                                         f"({os.path.realpath(path)})")
    if not stat.S_ISDIR(st.st_mode):
        raise StoreUnavailable("unsafe", f"{path} is not a folder: give a folder as the home")
    _check_owner_and_mode(path, st, 0o022, "folder")


def _check_owner_and_mode(path: Path, st: os.stat_result, forbidden: int, what: str) -> None:
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise StoreUnavailable("unsafe", f"{path} is owned by another user (uid {st.st_uid}): run keytui as "
                                         f"its owner, or give a {what} of your own")
    mode = stat.S_IMODE(st.st_mode)
    if mode & forbidden:
        private = 0o700 if what == "folder" else 0o600
        raise StoreUnavailable("unsafe", f"{path} can be changed or read by other users (mode {mode:04o}): "
                                         f"run chmod {private:o} {path}")


def load_master_key(settings: Settings, *, create: bool = True) -> bytes | None:
    """The master key: KEYTUI_MASTER_KEY, else the home's key file (created with `create`, else
    None when there is none)."""
    env = os.environ.get("KEYTUI_MASTER_KEY")
    if env:
        return _decode_key(env, "KEYTUI_MASTER_KEY")
    path = settings.key_path
    text = read_key_file(path)
    if text is None and create:
        _create_key_file(path)
        text = read_key_file(path)
    return None if text is None else _decode_key(text, str(path))


def key_from_environment() -> bool:
    return bool(os.environ.get("KEYTUI_MASTER_KEY"))


def read_key_file(path: Path) -> str | None:
    """The key file's text, or None if there is none. Never through a symlink (a planted link
    could point at a key others can read or replace), only a file of this user's that nobody
    else can read or write."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreUnavailable("unsafe", f"{path} is a symlink: keytui reads only a real key file "
                                             "(restore the file itself)") from None
        raise
    with os.fdopen(fd) as fh:
        _check_owner_and_mode(path, os.fstat(fh.fileno()), 0o077, "key file")
        return fh.read().strip()


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
