"""Features of the complaint model, shared by training and inference.

One function turns a normalised text into what the linear model sees:

* :func:`mask` lower-cases and replaces what does not generalise across brands
  and platforms: @handles become ``@user``, links ``http``, numbers ``0``,
  letters repeated three or more times are cut to two ("sooooo" -> "soo").
* :func:`sparse_keys` gives the sparse feature names of a masked text: word
  unigrams and bigrams (``w:still waiting``). Training builds a vocabulary
  from them; at run time unknown keys are ignored.
* :func:`dense` gives a small vector of cue features (VADER scores, negation,
  "still"/"again", refund words, questions vs demands, second person, time
  expressions, ...) named in :data:`DENSE_NAMES` so reasons can cite them.

Everything here is pure Python and cheap: the whole analysis must run at a
quarter of raw VADER speed or better.
"""

from __future__ import annotations

import re

_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:com|co\.uk|ly|me|io|net|org)/\S*", re.I)
_HANDLE = re.compile(r"@\w+")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_REPEAT = re.compile(r"(\w)\1{2,}")
_TOKEN = re.compile(r"[a-z0-9@#_]+(?:'[a-z]+)?|[!?]+|[^\sa-z0-9]")

_CUES: dict[str, re.Pattern[str]] = {
    "negation": re.compile(r"\b(?:not|no|never|nobody|nothing|none|cannot|\w+n't|cant|dont|wont|didnt)\b"),
    "still_again": re.compile(r"\b(?:still|again|yet|anymore|any more|already)\b"),
    "waiting": re.compile(r"\b(?:wait(?:ing|ed)?|hold|delay(?:ed)?|late|hours?|days?|weeks?|months?)\b"),
    "money": re.compile(r"\b(?:refund\w*|charg\w+|money|paid|pay|bill\w*|fee|overcharg\w+|£|\$)"),
    "broken": re.compile(
        r"\b(?:broken?|fail\w*|error|crash\w*|down|issue|problem|fault\w*|bug\w*|"
        r"not work\w*|doesn't work|won't|stopped)\b"
    ),
    "second_person": re.compile(r"\b(?:you|your|you're|yours|u|ur)\b"),
    "first_person": re.compile(r"\b(?:i|my|me|i'm|i've|mine|we|our)\b"),
    "question": re.compile(r"\?"),
    "why_how": re.compile(r"\b(?:why|how come|what's going on|where is|where's)\b"),
    "demand": re.compile(r"\b(?:sort (?:it|this) out|fix (?:it|this)|please (?:fix|help|sort)|need(?:s)? to|should)\b"),
    "time": re.compile(r"\b(?:today|yesterday|tonight|this morning|last (?:week|night|month)|since|ago|now)\b"),
    "extreme": re.compile(
        r"\b(?:worst|terrible|awful|horrible|ridiculous|disgust\w*|joke|useless|unacceptable|"
        r"appalling|shocking|pathetic|rubbish|crap)\b"
    ),
    "thanks": re.compile(r"\b(?:thanks?|thank you|thx|cheers|love|great|awesome|amazing)\b"),
    "exclaim": re.compile(r"!"),
}

# one pass over the text: each cue counts the places where it is the first alternative to match
_CUE_RE = re.compile("|".join(f"(?P<{k}>{p.pattern})" for k, p in _CUES.items()))

#: Names of the dense features, in vector order.
DENSE_NAMES: tuple[str, ...] = (
    "vader_compound",
    "vader_negative",
    "vader_positive",
    "starts_with_mention",
    "has_link",
    *(f"cue_{k}" for k in _CUES),
    "shouting",
    "length",
)


def mask(text: str) -> str:
    """Lower-case ``text`` and mask handles, links, numbers and letter repeats."""
    s = _URL.sub(" http ", text)
    s = _HANDLE.sub("@user", s).lower()
    s = _NUMBER.sub("0", s)
    return _REPEAT.sub(r"\1\1", s)


def sparse_keys(masked: str) -> list[str]:
    """Word unigram and bigram keys (``w:still``, ``w:still waiting``) of a masked text.

    Character n-grams were tried and dropped: no gain in cross-validation
    (docs/model.md) at three times the cost.
    """
    toks = _TOKEN.findall(masked)
    keys = ["w:" + t for t in toks]
    keys += ["w:" + a + " " + b for a, b in zip(toks, toks[1:], strict=False)]
    return keys


def dense(raw: str, masked: str, vader: dict[str, float]) -> list[float]:
    """Dense cue features of one text, in :data:`DENSE_NAMES` order."""
    letters = sum(map(str.isalpha, raw))
    upper = sum(map(str.isupper, raw)) / letters if letters >= 8 else 0.0
    counts = dict.fromkeys(_CUES, 0)
    for m in _CUE_RE.finditer(masked):
        counts[m.lastgroup] += 1  # type: ignore[index]
    return [
        vader.get("compound", 0.0),
        vader.get("neg", 0.0),
        vader.get("pos", 0.0),
        1.0 if raw.startswith("@") else 0.0,
        1.0 if "http" in masked else 0.0,
        *(min(c, 3) / 3.0 for c in counts.values()),
        upper,
        min(len(masked), 280) / 280.0,
    ]
