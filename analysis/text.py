"""Text normalisation shared by every analysis step."""

from __future__ import annotations

import re
import unicodedata

#: Longest text we analyse; longer texts are cut (complaints are short, and
#: scoring cost grows with length).
MAX_CHARS = 5_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SPACE = re.compile(r"\s+")


def normalise(text: object) -> str:
    """Return ``text`` as clean, bounded, NFC-normalised unicode.

    Never raises: ``None`` becomes ``""``, bytes are decoded leniently, control
    characters and lone surrogates are dropped, runs of white space folded.
    """
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    s = str(text)[: MAX_CHARS * 2]
    s = s.encode("utf-8", errors="ignore").decode("utf-8")  # drop lone surrogates
    s = unicodedata.normalize("NFC", s)
    s = _CONTROL.sub(" ", s)
    return _SPACE.sub(" ", s).strip()[:MAX_CHARS]
