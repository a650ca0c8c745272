"""Text for Slack: the one place anything becomes Slack mrkdwn (every block, fallback text,
thread reply, ephemeral, escalation post, ops alert and the digest go through it).

Customer text is hostile until escaped. ``escape`` makes any text inert in mrkdwn: ``&``, ``<``
and ``>`` become ``&amp;``, ``&lt;`` and ``&gt;`` as Slack documents, so no ``<!channel>``,
``<!here>``, ``<@U…>``, ``<#C…>``, ``<!subteam^…>`` or ``<url|label>`` can be written by a
customer; the mrkdwn markers ``* _ ~ ``` (and their full-width forms) are replaced by look-alike
characters (``∗ ˍ ∼ ˋ``), because Slack has no escape for them and a zero-width space around a
marker *enables* formatting rather than stopping it; a line starting with ``>`` gets an invisible
soft hyphen so it is not a block quote; control and bidi-override characters are dropped.
``code`` is for text inside our code spans (the suggested reply): only backticks can break out of
a code span, so handles keep their underscores there. Our own markup is made only by ``link``
(http and https URLs only; anything else is shown as text) and ``user`` (a valid user id only).
Every mrkdwn text object is sent with ``verbatim: true``, so Slack does not auto-link either.
"""

from __future__ import annotations

import re
from typing import Any

from gripewatch.terminal import CONTROL

_LOOKALIKE = str.maketrans(
    {
        "*": "\u2217",  # ∗ asterisk operator
        "\uff0a": "\ufe61",  # ＊ → ﹡ small asterisk
        "_": "\u02cd",  # ˍ modifier letter low macron
        "\uff3f": "\u2e0f",  # ＿ → ⸏ paragraphos
        "~": "\u223c",  # ∼ tilde operator
        "`": "\u02cb",  # ˋ modifier letter grave accent
        "\uff40": "\u02cb",  # ｀
    }
)
_QUOTE = re.compile(r"^(\s*)(&gt;|\uff1e)", re.M)
_HTTP = re.compile(r"^https?://[^\s/?#<>|]+(?:[/?#]\S*)?$", re.I)
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_OUR_USER = re.compile(r"(<@[UW][A-Z0-9]{2,}>)")


def _entities(s: str) -> str:
    return CONTROL.sub("", s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: Any) -> str:
    """``text`` (any customer or third-party value) as inert mrkdwn: shown as written, never parsed."""
    s = _entities("" if text is None else str(text)).translate(_LOOKALIKE)
    return _QUOTE.sub("\\1\u00ad\\2", s)


def code(text: Any, inline: bool = False) -> str:
    """``text`` for inside a code block (or an ``inline`` code span, which a line break would end):
    entities escaped, backticks replaced, nothing else."""
    s = _entities("" if text is None else str(text)).translate({ord("`"): "\u02cb", 0xFF40: "\u02cb"})
    return " ".join(s.split("\n")) if inline else s


def link(url: Any, label: str) -> str:
    """``<url|label>`` if ``url`` is an http(s) URL with a host; otherwise the URL as plain text."""
    u = "" if url is None else str(url).strip()
    if not _HTTP.match(u) or CONTROL.search(u):
        return escape(u)
    safe = u.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace("`", "%60")
    return f"<{safe}|{escape(label)}>"


def user(slack_id: Any) -> str:
    """A mention of a Slack user (``<@U…>``) if ``slack_id`` is a user id; otherwise it as text."""
    return f"<@{slack_id}>" if is_user(slack_id) else escape(slack_id)


def is_user(slack_id: Any) -> bool:
    """Whether ``slack_id`` is a Slack user id (``U…``/``W…``), which :func:`user` mentions."""
    return isinstance(slack_id, str) and bool(_USER.match(slack_id))


def ours(text: Any) -> str:
    """Text gripewatch wrote with :func:`user` mentions in it (notes, escalations): the mentions are
    kept, everything else is escaped."""
    parts = _OUR_USER.split("" if text is None else str(text))
    return "".join(p if i % 2 else escape(p) for i, p in enumerate(parts))


def section(text: str) -> dict[str, Any]:
    """A section block of already-escaped mrkdwn (cut to Slack's 3,000-character limit)."""
    return {"type": "section", "text": element(text)}


def element(text: str) -> dict[str, Any]:
    """A mrkdwn text object that Slack does not auto-link (``verbatim``)."""
    return {"type": "mrkdwn", "text": _cut(text, 2990), "verbatim": True}


def _cut(s: str, n: int) -> str:
    """``s`` cut to ``n`` characters without splitting an entity such as ``&amp;``."""
    if len(s) <= n:
        return s
    head = s[:n]
    amp = head.rfind("&", max(0, n - 5))
    return head[:amp] if amp != -1 and ";" not in head[amp:] else head
