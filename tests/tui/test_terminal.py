"""`keytui` in a real terminal (tmux): the console the command opens, and Copy Token reaching the
terminal's clipboard over OSC 52 as the README says (in tmux: `set -g set-clipboard on`)."""

from __future__ import annotations

import sys

import pytest

from tests.support import Token, wait_until
from tests.tui.conftest import TMUX
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


def test_copy_token_reaches_the_terminal_clipboard_in_tmux(vault, home, tmux):
    issued = vault.create("Log Shipper Key", "monitoring", ["read"], "staging", expires_in_days=30)
    token = Token(issued.token)
    started = tmux("new-session", "-d", "-s", "keytui", "-x", "120", "-y", "40", "-e", f"KEYTUI_HOME={home}",
                   f"{sys.executable} -m keytui --operator alice")
    assert started.returncode == 0, started.stderr
    tmux("set-option", "-g", "set-clipboard", "on")

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "keytui").stdout

    wait_until(lambda: "Keys per environment" in screen(), 60, "the console in the terminal")
    tmux("send-keys", "-t", "keytui", "2")
    wait_until(lambda: "1-1 of 1 keys" in screen(), 30, "the registry")
    tmux("send-keys", "-t", "keytui", "y")
    wait_until(lambda: "Sent the token of" in screen(), 30, "the copy notice")
    copied = wait_until(lambda: tmux("show-buffer").stdout, 30, "tmux's paste buffer")
    same = copied == token
    assert same, "tmux's clipboard does not hold the key's token"
    assert token not in screen(), "the token was shown on screen"
    tmux("send-keys", "-t", "keytui", "q")
    wait_until(lambda: tmux("has-session", "-t", "keytui").returncode != 0, 30, "the console to quit")
