"""The header's subtitle: who is at the console, its mode, and the MFA window's time left.

After a good TOTP code the console may make privileged changes for five minutes without
asking again (like GitHub's sudo mode); an operator who cannot see that window cannot know
why one change asked for a code and the next did not. The window's end is asked of the
service after each write, and counted down here, so the header costs no service call a second.
"""

from __future__ import annotations

import time


class MfaHeader:
    def __init__(self, app, who: str):
        self.app = app
        self.who = who
        self.deadline: float | None = None  # time.monotonic() when the window closes
        app.sub_title = who

    def start(self) -> None:
        self.app.set_interval(1.0, self.show)

    def check(self) -> None:
        """Ask the service when the window closes (after a change, or a code asked for)."""
        vault = self.app.vault
        until = vault.mfa_window_until()
        self.deadline = None if until is None else time.monotonic() + (until - vault.now()).total_seconds()
        self.show()

    @property
    def seconds_left(self) -> int:
        return 0 if self.deadline is None else max(0, int(self.deadline - time.monotonic() + 0.999))

    def show(self) -> None:
        left = self.seconds_left
        if not left:
            self.deadline = None
        self.app.sub_title = self.who + (f" · MFA {left // 60}:{left % 60:02d} left" if left else "")
