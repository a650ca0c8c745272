"""Text from outside (customers, platforms, error messages) made safe to print on a terminal.

rich drops a few control characters (BEL, BS, VT, FF, CR) but passes ESC through, so a post
holding ``\\x1b[2J`` or an OSC-8 link would clear or rewrite the operator's screen. ``visible``
shows every control character as its Unicode "control picture" (``␛`` for ESC) and every
bidirectional override as U+FFFD, so what is printed is exactly what was written, and inert.
"""

from __future__ import annotations

import re
from typing import Any

#: Characters that act instead of showing: C0 controls but tab and newline, DEL, C1 controls, and
#: bidi embeddings/overrides/isolates (Trojan Source). Shown as symbols here; dropped for Slack
#: (:mod:`gripewatch.alerts.mrkdwn`).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _picture(m: re.Match[str]) -> str:
    c = ord(m.group())
    if c < 0x20:
        return chr(0x2400 + c)
    if c == 0x7F:
        return "\u2421"
    return "\ufffd"


def visible(text: str) -> str:
    """``text`` with every control character shown as a symbol instead of acting on the terminal."""
    return CONTROL.sub(_picture, text)


def one_line(text: str) -> str:
    """``visible(text)`` on one line: runs of whitespace (newlines, tabs) become one space."""
    return visible(" ".join(text.split()))


def visible_all(value: Any) -> Any:
    """``value`` with :func:`visible` applied to every string inside it (dicts, lists, tuples)."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {k: visible_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(visible_all(v) for v in value)
    return value
