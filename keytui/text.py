"""Untrusted text made safe to show: every string from storage, a caller, a file or a flag is
data, and a terminal must never receive it as control.

`visible` keeps the text readable and makes what a terminal would act on visible instead:
C0 controls become their Unicode Control Pictures (ESC shows as ␛, BEL as ␇), DEL shows as ␡,
C1 controls (U+0080-U+009F, e.g. the one-byte CSI U+009B) and the characters that reorder or
split lines on display (bidi overrides and isolates, line and paragraph separators) show as
`\\u009b`-style escapes. Nothing else changes, so a name with `[` or `=` reads as typed;
markup is the renderer's business (render as plain text, never parse).
"""

from __future__ import annotations

BIDI_AND_SEPARATORS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029)


def _table() -> dict[int, str]:
    table = {code: chr(0x2400 + code) for code in range(0x20)}
    table[0x7F] = "\u2421"
    for code in (*range(0x80, 0xA0), *BIDI_AND_SEPARATORS):
        table[code] = f"\\u{code:04x}"
    return table


_VISIBLE = _table()


def visible(value: object) -> str:
    """`value` as text with every control character made visible (see the module docstring)."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case: nothing a terminal would act on
        return text
    return text.translate(_VISIBLE)


def has_control(text: str) -> bool:
    """Would `visible` change it? (Input validation refuses such text.)"""
    return visible(text) != text
