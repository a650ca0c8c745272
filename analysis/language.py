"""Language of a mention: English, another language, or too short to tell (``und``).

It runs on every mention, so it is cheap: handles, links, hashtags and digits are dropped; fewer than
three words is ``und``; a text with an English function word ("the", "my", "you", "is", ...) and no
non-ASCII letter is English without asking a model. Everything else goes to py3langid (its model ships in the wheel),
restricted to :data:`LANGUAGES`: its best language wins if it is English or at least
:data:`MIN_CONFIDENCE` sure; otherwise ``und``. ``und`` texts are scored as English (short English
posts are the common case); any other language is not scored by the English tiers but marked
``needs_review`` (see :func:`analysis.score.analyse_batch`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

#: Languages the detector may answer (others are folded into their closest one of these or ``und``).
LANGUAGES = (
    "en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "fi", "pl", "cs", "tr", "ru", "uk", "ar",
    "he", "hi", "ja", "zh", "ko", "id", "ms", "vi", "th", "el", "ro", "hu",
)  # fmt: skip
MIN_CONFIDENCE = 0.75
UNDETERMINED = "und"

_STRIP = re.compile(r"(?:https?://|www\.)\S+|[@#]\w+|\d+")
_WORD = re.compile(r"[^\W\d_]+")
# English function words that are not also common words of the other languages above ("a", "no", "on",
# "in", "me", "so", "am" and "do" are)
_ENGLISH = frozenset(
    "the and or but to of at for with from by is are was were be been i my you your we our they their it its "
    "this that these those have has had does did not can can't don't won't will would should just what why "
    "when where how who there here get got".split()
)


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGUAGES))
    return ident


def detect(text: str) -> str:
    """ISO 639-1 code of a normalised text's language, or ``"und"`` when it cannot be told."""
    low = text.lower()
    words = _WORD.findall(low)
    if not _ENGLISH.isdisjoint(words) and (low.isascii() or all(w.isascii() for w in words)):
        return "en"  # the common case, without the model (handles and links add no function word)
    low = _STRIP.sub(" ", low)
    words = _WORD.findall(low)
    if len(words) < 3:
        return UNDETERMINED
    lang, confidence = _identifier().classify(low)
    return str(lang) if lang == "en" or confidence >= MIN_CONFIDENCE else UNDETERMINED


def detect_batch(texts: Sequence[str]) -> list[str]:
    """:func:`detect` of each text."""
    return [detect(t) for t in texts]


def is_english(language: str) -> bool:
    """Whether the English tiers may score a text of this language (English or undetermined)."""
    return language in ("en", UNDETERMINED)
