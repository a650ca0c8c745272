"""Noise: retweets, duplicates, spam and link-only posts.

Helpers for the pipeline (which also knows authors and history):

* :func:`noise_kind` -- ``"retweet"``, ``"spam"``, ``"link_only"`` or ``None``;
  :func:`analysis.score.analyse_batch` caps the complaint probability of noise.
* :func:`near_duplicate_key` -- a fingerprint equal for texts that differ only
  in case, handles, links, punctuation, emoji or a leading "RT @x:". Numbers
  are part of the text: "order 48213 never arrived" and "order 99102 never
  arrived" are two customers' orders, not one post copied.
* :func:`similarity` / :func:`is_near_duplicate` -- word-shingle Jaccard
  similarity for texts that differ by a word or two (copy-paste campaigns).
"""

from __future__ import annotations

import hashlib
import re

from gripewatch.analysis.rules import Gated

_RT = re.compile(r"^\s*RT\s+@\w+\s*:?", re.IGNORECASE)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#\w+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")  # words and numbers: what makes two posts the same text
# matched against the lower-cased text, behind a literal gate (see analysis.rules.Gated)
_SPAM = Gated(
    (
        r"\b(?:follow (?:me|back)|follow4follow|f4f|click (?:here|the link)|free (?:followers|gift cards?|iphone)"
        r"|giveaway|win an? (?:free|brand new)|dm (?:me )?for (?:promo|collab)|earn \$?\d+|work from home"
        r"|crypto (?:signals|airdrop)|airdrop|promo code|limited offer|buy followers|check out my)\b",
    )
)


def _may_link(text: str, lowered: str) -> bool:
    return "//" in text or "www." in lowered


def is_retweet(text: str) -> bool:
    """True for a classic retweet ("RT @user: ...")."""
    return bool(_RT.match(text))


def is_link_only(text: str, lowered: str | None = None) -> bool:
    """True when, without links, handles and hashtags, fewer than three words remain."""
    low = text.lower() if lowered is None else lowered
    if not _may_link(text, low) or not _URL.search(text):
        return False
    rest = _HASHTAG.sub(" ", _HANDLE.sub(" ", _URL.sub(" ", text)))
    return len(_WORD.findall(rest)) < 3


def is_spam(text: str, lowered: str | None = None) -> bool:
    """True for promotional spam: spam phrases, or five or more hashtags, or three or more links."""
    low = text.lower() if lowered is None else lowered
    return (
        _SPAM.search(low) is not None
        or ("#" in text and len(_HASHTAG.findall(text)) >= 5)
        or (_may_link(text, low) and len(_URL.findall(text)) >= 3)
    )


def noise_kind(text: str, lowered: str | None = None) -> str | None:
    """``"retweet"``, ``"spam"``, ``"link_only"`` or ``None`` for an ordinary post."""
    if is_retweet(text):
        return "retweet"
    low = text.lower() if lowered is None else lowered
    if is_spam(text, low):
        return "spam"
    if is_link_only(text, low):
        return "link_only"
    return None


def _words(text: str) -> list[str]:
    s = _RT.sub(" ", text, count=1) if _RT.match(text) else text
    if "@" in s:
        s = _HANDLE.sub(" ", s)
    if "//" in s or "www." in s.lower():
        s = _URL.sub(" ", s)
    return [w.lower() for w in _TOKEN.findall(s)]


def near_duplicate_key(text: str) -> str:
    """16-hex-digit fingerprint of the words of ``text`` (see module docstring)."""
    s = _RT.sub(" ", text, count=1) if _RT.match(text) else text
    if "@" in s:
        s = _HANDLE.sub(" ", s)
    if "//" in s or "www." in s.lower():
        s = _URL.sub(" ", s)
    # lower-casing the joined words equals joining the lower-cased words (same word boundaries)
    return hashlib.blake2b(" ".join(_TOKEN.findall(s)).lower().encode("utf-8"), digest_size=8).hexdigest()


def shingles(text: str, size: int = 3) -> frozenset[str]:
    """Word ``size``-grams of ``text`` (the whole word list when shorter)."""
    w = _words(text)
    if len(w) <= size:
        return frozenset([" ".join(w)]) if w else frozenset()
    return frozenset(" ".join(w[i : i + size]) for i in range(len(w) - size + 1))


def similarity(a: str, b: str, size: int = 3) -> float:
    """Jaccard similarity of the word shingles of ``a`` and ``b`` (0 to 1)."""
    sa, sb = shingles(a, size), shingles(b, size)
    if not sa or not sb:
        return 1.0 if sa == sb else 0.0
    return len(sa & sb) / len(sa | sb)


def is_near_duplicate(a: str, b: str, threshold: float = 0.7) -> bool:
    """True when ``a`` and ``b`` have the same key or shingle similarity of at least ``threshold``."""
    return near_duplicate_key(a) == near_duplicate_key(b) or similarity(a, b) >= threshold
