"""Where `keytui scan` looks for tokens: files, and every blob in a git repository's history.

Content is read in chunks and searched with a small overlap between them, so a file of any
size, or one enormous line, costs a bounded amount of memory. A file or blob whose first chunk
holds a NUL byte is binary and skipped. Only regular files are read (never a FIFO or a
device a symlink points at) and `.git` folders are left to `--git`.

History is read blob by blob (`git rev-list --all --objects`, then `git cat-file --batch`),
so each version of each file is searched once however many commits share it; for a blob that
holds a token, `git log --find-object` names the commit that added it. No token is ever put on
a command line.
"""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

from keytui import tokens
from keytui.domain import InputError
from keytui.text import visible

CHUNK = 1 << 16
OVERLAP = tokens.TOKEN_MAX + 16  # a token cut by a chunk boundary is found whole in the next round


@dataclass(frozen=True)
class Hit:
    token: str
    where: str


@dataclass
class Tally:
    files: int = 0
    blobs: int = 0
    skipped_binary: int = 0
    unreadable: list[str] | None = None

    def as_dict(self) -> dict:
        return {"files": self.files, "blobs": self.blobs, "skipped_binary": self.skipped_binary,
                "unreadable": self.unreadable or []}


def search(chunks: Iterable[bytes], tally: Tally | None = None) -> Iterator[tuple[str, int]]:
    """(token, line number) for each token in the concatenated chunks; nothing if binary."""
    buffer, line, floor, first = b"", 1, 0, True
    for chunk in chunks:
        if first and b"\0" in chunk:
            if tally is not None:
                tally.skipped_binary += 1
            return
        first = False
        buffer += chunk
        limit = len(buffer) - OVERLAP
        if limit <= floor:
            continue
        yield from _matches(buffer, floor, limit, line)
        line += buffer.count(b"\n", 0, limit - 1)
        buffer, floor = buffer[limit - 1:], 1  # one byte kept: the look-behind needs it
    yield from _matches(buffer, floor, len(buffer), line)


def _matches(buffer: bytes, floor: int, limit: int, line: int) -> Iterator[tuple[str, int]]:
    pos = 0
    for m in tokens.SEARCH_RE.finditer(buffer, floor):
        if m.start() >= limit:
            return
        line += buffer.count(b"\n", pos, m.start())
        pos = m.start()
        yield m.group().decode("ascii"), line


def _read(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


class _Object:
    """One object's content in `git cat-file --batch` output: exactly `size` bytes, then a newline."""

    def __init__(self, stream: BinaryIO, size: int):
        self.stream, self.left = stream, size

    def chunks(self) -> Iterator[bytes]:
        while self.left > 0:
            chunk = self.stream.read(min(CHUNK, self.left))
            if not chunk:
                return
            self.left -= len(chunk)
            yield chunk

    def finish(self) -> None:
        """Skip what the search left unread (it stops at a binary blob) and the newline."""
        for _ in self.chunks():
            pass
        self.stream.read(1)


def check_paths(paths: list[str], git: bool) -> None:
    """Refuse a missing path (or, with --git, a path that is not a repository) before scanning."""
    for p in paths:
        if not os.path.exists(p):
            raise InputError("path", f"{shown(p)} does not exist")
        if git and not is_repository(p):
            raise InputError("git", f"{shown(p)} is not a git repository (or git is not installed)")


def shown(path: str) -> str:
    return visible(path)


def files(paths: list[str], tally: Tally) -> Iterator[Hit]:
    for root in paths:
        if os.path.isdir(root):
            for folder, dirs, names in os.walk(root):
                dirs[:] = sorted(d for d in dirs if d != ".git")
                for name in sorted(names):
                    yield from _file(os.path.join(folder, name), tally)
        else:
            yield from _file(root, tally)


def _file(path: str, tally: Tally) -> Iterator[Hit]:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return
        with open(path, "rb") as fh:
            tally.files += 1
            found = list(search(_read(fh), tally))
    except OSError as exc:
        tally.unreadable = (tally.unreadable or []) + [f"{shown(path)}: {exc.strerror or exc}"]
        return
    for token, line in found:
        yield Hit(token, f"{path}:{line}")


# ---------------------------------------------------------------------------------- git history
def _git(repo: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(["git", "-C", repo, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, **kw)


def is_repository(path: str) -> bool:
    try:
        out = subprocess.run(["git", "-C", path, "rev-parse", "--git-dir"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def _blobs(repo: str) -> list[tuple[str, str]]:
    """(blob id, a path it had) for every blob reachable from any ref."""
    proc = _git(repo, "rev-list", "--all", "--objects", "--filter=object:type=blob")
    out = []
    for raw in proc.stdout:
        sha, _, path = raw.rstrip(b"\n").partition(b" ")
        if path:
            out.append((sha.decode(), path.decode("utf-8", "replace")))
    proc.wait()
    return out


def history(repo: str, tally: Tally) -> Iterator[Hit]:
    """Tokens in every version of every file in the repository's history."""
    blobs = _blobs(repo)
    if not blobs:
        return
    cat = subprocess.Popen(["git", "-C", repo, "cat-file", "--batch"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    feeder = threading.Thread(target=_feed, args=(cat.stdin, [sha for sha, _ in blobs]), daemon=True)
    feeder.start()
    found: list[tuple[str, str, str, int]] = []
    try:
        for sha, path in blobs:
            header = cat.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                continue  # missing object (a shallow or partial clone): nothing to read
            blob = _Object(cat.stdout, int(header[2]))
            tally.blobs += 1
            found += [(sha, path, token, line) for token, line in search(blob.chunks(), tally)]
            blob.finish()
    finally:
        feeder.join()
        cat.stdout.close()
        cat.wait()
    for sha, path, token, line in found:
        yield Hit(token, f"commit {first_commit(repo, sha)} {path}:{line}")


def _feed(stdin, shas: list[str]) -> None:
    try:
        for sha in shas:
            stdin.write(sha.encode() + b"\n")
        stdin.close()
    except OSError:
        pass  # cat-file ended early; the reader notices


def first_commit(repo: str, blob: str) -> str:
    """The short id of the oldest commit that added this blob (any ref)."""
    proc = _git(repo, "log", "--all", "--reverse", "--format=%h", f"--find-object={blob}")
    out, _ = proc.communicate()
    lines = out.decode().split()
    return lines[0] if lines else blob[:10]
