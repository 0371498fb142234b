"""The console's colours, named by what they mean and taken from the theme.

Each tone is a style of theme variables (`$text-success`, ...) that Textual resolves when it
draws, so the dark and the light theme (`t`) and NO_COLOR are right without re-rendering, and
no colour is written down anywhere else. Text goes in as `Content`, never as markup: a key's
name or an alert's message is shown as typed, whatever brackets it holds.
"""

from __future__ import annotations

from textual.content import Content

from keytui.domain import Status
from keytui.text import visible

OK = "$text-success"
WARN = "$text-warning"
ERROR = "$text-error"
BAD = "bold $text-error"
MUTED = "$foreground-muted"  # $text-muted is "auto 60%", which content styles cannot blend
INFO = "$text-primary"
FLAG = "bold $text-accent"  # an org-policy violation
NOTE = "italic $text-secondary"  # a remark beside a value ("needs TOTP")
EVIDENCE = "bold underline $text-warning"  # the events an alert points at
STRONG = "bold"
BADGE_OK = "bold $background on $success"
BADGE_WARN = "bold $background on $warning"

STATUS = {Status.ACTIVE: OK, Status.EXPIRED: WARN, Status.REVOKED: ERROR}
OUTCOME = {"success": OK, "failed": BAD}  # a verification event's status
SEVERITY = {"high": BAD, "medium": WARN, "low": MUTED}
RISK = {"low": f"bold {OK}", "medium": f"bold {WARN}", "high": BAD}


def toned(text: object, style: str = "") -> Content:
    """`text` (any value, shown as its str) in one tone; never parsed as markup, control
    characters made visible."""
    return Content.styled(visible(text), style) if style else Content(visible(text))


def plain(value: object) -> Content:
    """A value from storage, shown as it is: never markup (a bare str in a table cell, a Static
    or a notification is parsed as markup), and control characters made visible (keytui.text)."""
    return Content("-" if value is None else visible(value))


def status_word(status: Status) -> Content:
    return toned(status.value, STATUS[status])


def outcome_word(outcome: str) -> Content:
    return toned(outcome, OUTCOME.get(outcome, ""))


def severity_word(severity: str, width: int = 0) -> Content:
    return toned(f"{severity:<{width}}", SEVERITY.get(severity, ""))
