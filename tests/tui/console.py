"""Driving the console the way an operator does: keys in; what the terminal shows, the
notifications raised and the clipboard out. Nothing here reads a screen's own attributes, so
the console's screens can be rebuilt freely while these tests keep saying whether it still
behaves the same.

Every wait is on a condition with a deadline, polling the app between checks (`pilot.pause`),
never a fixed pause: a slow machine only makes a test slower, a broken console makes it fail
with what it was waiting for and what the screen showed instead.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import traceback
from contextlib import asynccontextmanager
from typing import Callable, TypeVar

T = TypeVar("T")

TIMEOUT_S = 15.0  # generous: two cores shared with other jobs
POLL_S = 0.02
KEY_NAMES = {" ": "space", "/": "slash", "?": "question_mark", ".": "full_stop", ",": "comma", ":": "colon",
             "-": "minus", "_": "underscore", "@": "at", "&": "ampersand", "'": "apostrophe", "+": "plus",
             "=": "equals_sign", "(": "left_parenthesis", ")": "right_parenthesis", "!": "exclamation_mark",
             "~": "tilde", "#": "number_sign", "*": "asterisk", "\\": "backslash", '"': "quotation_mark",
             "[": "left_square_bracket", "]": "right_square_bracket", "<": "less_than_sign",
             ">": "greater_than_sign", ";": "semicolon", "%": "percent_sign", "$": "dollar_sign",
             "^": "circumflex_accent", "|": "vertical_line", "`": "grave_accent", "{": "left_curly_bracket",
             "}": "right_curly_bracket"}


class Console:
    """One running console (an App under a Textual Pilot)."""

    def __init__(self, app, pilot):
        self.app = app
        self.pilot = pilot

    # ------------------------------------------------------------------ keys in
    async def press(self, *keys: str) -> None:
        """Press keys (Textual key names: "enter", "escape", "ctrl+s", "j", "G", ...)."""
        await self.pilot.press(*keys)
        await self.pilot.pause()

    async def type(self, text: str) -> None:
        """Type text character by character, as at a keyboard."""
        await self.press(*(KEY_NAMES.get(char, char) for char in text))

    async def paste(self, text: str) -> None:
        """Paste text into the focused field, as a terminal's bracketed paste delivers it."""
        from textual import events

        self.app.post_message(events.Paste(text))
        await self.pilot.pause()

    async def clear_field(self) -> None:
        """Empty the focused text field (start of line, then delete to its end)."""
        await self.press("home", "ctrl+k")

    async def choose(self, option: str) -> None:
        """Pick an option of the focused drop-down (Select): open it, type the option's label, enter."""
        await self.press("enter")
        await self.type(option)
        await self.press("enter")

    async def focus_on(self, label: str, *, key: str = "tab", limit: int = 40) -> str:
        """Move the focus (tab, or `key`) until a single control (a row, a field, a button: not a
        whole panel) that shows `label` has it; returns what that control shows."""
        for _ in range(limit):
            focused = self.app.focused
            if focused is not None and focused.region.height <= 3 and label in self.focused_text():
                return self.focused_text()
            await self.press(key)
        raise AssertionError(f"no control showing {label!r} took the focus; the screen shows:\n{self.text()}")

    async def click(self, label: str) -> None:
        """Click where the screen shows `label`: a control (button, checkbox) showing it if there is
        one, so a dialog title naming the same action is passed over; else the first place it shows."""
        screen = self.app.screen
        places = [(match.start() + len(label) // 2, y) for y, line in enumerate(self.lines())
                  for match in re.finditer(re.escape(label), line)]
        if not places:
            raise AssertionError(f"nothing shows {label!r} to click; the screen shows:\n{self.text()}")
        controls = [(x, y) for x, y in places if screen.get_widget_at(x, y)[0].focusable]
        await self.pilot.click(offset=(controls or places)[0])
        await self.pilot.pause()

    # ------------------------------------------------------------------ what is shown
    def lines(self) -> list[str]:
        """The terminal's lines as text, as the operator sees them now (dialogs over their page)."""
        # Textual's compositor renders the screen as the terminal would get it (Textual has no public
        # text export; export_screenshot gives SVG). The one place the suite touches a private name.
        screen = self.app.screen
        return [strip.text.rstrip() for strip in screen._compositor.render_strips()]

    def text(self) -> str:
        return "\n".join(self.lines())

    def line_with(self, text: str) -> str:
        """The first line on screen holding `text` (a table row, a field and its value, ...)."""
        for line in self.lines():
            if text in line:
                return line
        raise AssertionError(f"{text!r} is not on screen; the screen shows:\n{self.text()}")

    def focused_text(self) -> str:
        """What the focused control shows (the highlighted row or field), as text."""
        focused = self.app.focused
        if focused is None:
            return ""
        region = focused.region
        lines = self.lines()[region.y:region.y + region.height]
        return "\n".join(line[region.x:region.x + region.width] for line in lines)

    @property
    def title(self) -> str:
        """The header line: the app's or the open screen's title, and the operator."""
        return self.lines()[0].strip()

    @property
    def page(self) -> str:
        """The page (tab) shown: overview, registry, scopes, permissions, policies, analytics or activity."""
        return self.app.current_mode

    def notifications(self) -> list[str]:
        """Every notification message shown so far, oldest first."""
        return list(self.app.notes)

    @property
    def clipboard(self) -> str:
        """What the console last put on the clipboard (OSC 52)."""
        return self.app.clipboard

    def clipboard_history(self) -> list[str]:
        """Everything the console sent to the terminal's clipboard, oldest first ("" clears it)."""
        return list(self.app.copies)

    def inside(self) -> str:
        """What the console was doing (its workers, the watch passes done, every other thread's
        innermost frames), for a wait that timed out: a failure seen once on a loaded machine
        then says where it stood."""
        workers = ", ".join(f"{w.name or w.group}:{w.state.name}" for w in self.app.workers)
        names = {t.ident: t.name for t in threading.enumerate()}
        stacks = []
        for ident, frame in sys._current_frames().items():
            if ident != threading.get_ident():
                inner = [f"{f.f_code.co_filename.rsplit('/', 1)[-1]}:{line} {f.f_code.co_name}"
                         for f, line in list(traceback.walk_stack(frame))[:6]]
                stacks.append(f"  {names.get(ident, ident)}: {' < '.join(inner)}")
        crashed = getattr(self.app, "_exception", None)  # Textual keeps an unhandled error here
        return (f"workers: [{workers}]; watch passes done: {getattr(self.app, 'watch_passes', '?')}; "
                f"app running: {self.app.is_running}; unhandled error: {crashed!r}\n"
                "other threads:\n" + "\n".join(stacks))

    # ------------------------------------------------------------------ waiting on conditions
    async def wait_for(self, condition: Callable[[], T], what: str, timeout: float = TIMEOUT_S) -> T:
        """Let the console run until `condition()` is truthy; its value, or AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; the screen shows:\n"
                                     f"{self.text()}\nnotifications: {self.notifications()}\n{self.inside()}")
            await self.pilot.pause(POLL_S)

    async def wait_for_text(self, *texts: str, timeout: float = TIMEOUT_S) -> str:
        """Wait until every one of `texts` is on screen; returns the screen's text."""
        return await self.wait_for(lambda: all(t in (shown := self.text()) for t in texts) and shown,
                                   f"{' and '.join(map(repr, texts))} on screen", timeout)

    async def wait_for_no_text(self, text: str, timeout: float = TIMEOUT_S) -> str:
        return await self.wait_for(lambda: text not in (shown := self.text()) and shown,
                                   f"{text!r} to leave the screen", timeout)

    async def wait_for_notification(self, fragment: str, timeout: float = TIMEOUT_S) -> str:
        """Wait for a notification containing `fragment`; returns its message."""
        def found():
            return next((n for n in self.notifications() if fragment in n), None)

        return await self.wait_for(found, f"a notification saying {fragment!r}", timeout)

    async def stays(self, condition: Callable[[], bool], seconds: float) -> bool:
        """True if `condition()` holds the whole time for `seconds` while the console runs (for checks
        that something does NOT happen: there is no event to wait for, so the wait is bounded)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not condition():
                return False
            await self.pilot.pause(POLL_S)
        return condition()


@asynccontextmanager
async def running(app, size: tuple[int, int] = (120, 40)):
    """Run `app` headless at `size` and hand over a Console once its first page is on screen."""
    async with app.run_test(size=size) as pilot:
        console = Console(app, pilot)
        await console.wait_for(lambda: "1 Overview" in console.text() or app.screen.is_modal,
                               "the console's first page")
        yield console
