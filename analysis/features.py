"""Features of the complaint model, shared by training and inference.

:func:`extract` turns a normalised text (and its VADER scores) into what the
linear model sees, in one pass over the lower-cased text:

* **tokens**, masked so that nothing brand- or platform-specific becomes a
  feature: @handles become ``@user``, links ``http``, digit runs ``0``, letters
  repeated three or more times are cut to two ("sooooo" -> "soo"). The sparse
  keys are the token unigrams and bigrams (``still waiting``); training builds
  a vocabulary from them, at run time unknown keys are ignored.
* **dense cues** named in :data:`DENSE_NAMES` so that reasons can cite them:
  VADER scores, addressed to an account, link, and counts of brand-agnostic
  complaint cue lexicons (:data:`CUES`: negation, "still/again", waiting,
  money, problem events such as "deleted"/"crashed"/"lost", non-receipt and
  no-response phrases, "can't/won't", questions vs demands, second person,
  time expressions, ...). A cue word never seen in training still counts, which
  is what carries the model to other brands and domains.

Each distinct raw token is masked and looked up in the lexicons once per
process (:data:`_MEMO`), so the per-text cost is a regex ``findall`` and a few
dictionary look-ups: the whole analysis must run at a quarter of raw VADER
speed or better.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"(?:https?://|www\.)\S+|[@#]?[^\W_]+(?:'[^\W\d_]+)?|[!?]+|[^\s\w]")
_DIGITS = re.compile(r"\d+")
_REPEAT = re.compile(r"(\w)\1{2,}")
_CAPS = re.compile(r"[A-Z]{3,}")

#: Praise idioms: they count as thanks/praise and cancel the cues their own words fire ("no complaints" is
#: neither a negation nor a problem, "killing it" is no strong negative word).
PRAISE_BIGRAMS: tuple[str, ...] = (
    "killing it",
    "crushing it",
    "smashing it",
    "nailed it",
    "nailing it",
    "no complaints",
    "can't complain",
    "cant complain",
    "can't fault",
    "never disappoints",
    "never disappoint",
    "never fails",
    "zero issues",
    "no issues",
    "no problems",
    "never better",
    "well done",
    "good job",
    "great job",
    "hats off",
    "big fan",
    "a beat",
    "above and",
)

# Cue lexicons over masked tokens: whole words, word prefixes ("refund" covers
# "refunds", "refunded") and bigrams ("never arrived"). Brand-agnostic by design.
CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "negation": {
        "words": (
            "not",
            "no",
            "never",
            "nobody",
            "nothing",
            "none",
            "cannot",
            "cant",
            "dont",
            "wont",
            "didnt",
            "isnt",
            "doesnt",
            "havent",
            "hasnt",
            "aint",
            "nope",
            "neither",
        ),
        "suffix": ("n't",),
    },
    "still_again": {
        # not "already"/"yet" on their own: "already thinking about my next one" is praise
        "words": ("still", "again", "anymore", "continually", "constantly"),
        "bigrams": (
            "any more",
            "keeps on",
            "yet again",
            "not yet",
            "yet to",
            "already paid",
            "already called",
            "already sent",
            "already told",
            "already contacted",
            "already emailed",
            "already asked",
            "already waited",
            "already tried",
            "already reported",
        ),
    },
    "waiting": {
        "words": (
            "wait",
            "waiting",
            "waited",
            "hold",
            "delay",
            "delayed",
            "delays",
            "late",
            "hour",
            "hours",
            "day",
            "days",
            "week",
            "weeks",
            "month",
            "months",
            "queue",
            "forever",
            "ages",
            "overdue",
        ),
    },
    "money": {
        "words": (
            "money",
            "paid",
            "pay",
            "paying",
            "fee",
            "fees",
            "£",
            "$",
            "€",
            "cost",
            "price",
            "account",
            "card",
            "debit",
            "credit",
            "invoice",
            "compensation",
            "voucher",
        ),
        "prefix": ("refund", "charg", "overcharg", "bill", "reimburs"),
    },
    "problem": {
        "words": (
            "deleted",
            "lost",
            "losing",
            "loses",
            "broke",
            "broken",
            "crashed",
            "crashing",
            "crashes",
            "crash",
            "missing",
            "failed",
            "failing",
            "fails",
            "failure",
            "froze",
            "frozen",
            "freezing",
            "freezes",
            "stuck",
            "cancelled",
            "canceled",
            "cancelling",
            "overcharged",
            "declined",
            "rejected",
            "damaged",
            "leaking",
            "leaked",
            "leaks",
            "disconnected",
            "disconnecting",
            "disconnects",
            "locked",
            "hacked",
            "stolen",
            "wiped",
            "erased",
            "corrupted",
            "disappeared",
            "vanished",
            "lagging",
            "laggy",
            "dropped",
            "dropping",
            "ruined",
            "expired",
            "blocked",
            "suspended",
            "banned",
            "refused",
            "denied",
            "ignored",
            "ignoring",
            "faulty",
            "defective",
            "dead",
            "unusable",
            "incorrect",
            "wrong",
            "mistake",
            "outage",
            "outages",
            "error",
            "errors",
            "glitch",
            "glitches",
            "bug",
            "bugs",
            "buggy",
            "issue",
            "issues",
            "problem",
            "problems",
            "fault",
            "down",
            "offline",
            "slow",
            "stopped",
            "empty",
            "cold",
            "dirty",
            "rude",
            "unhelpful",
            "mess",
            "messed",
            "spoiled",
            "spoilt",
            "smashed",
            "cracked",
            "torn",
            "ripped",
            "stale",
            "undelivered",
            "misplaced",
            "unresolved",
            "unanswered",
            "overdue",
            "late",
            "lied",
            "scam",
            "scammed",
        ),
    },
    "not_received": {
        "bigrams": (
            "never arrived",
            "never received",
            "never came",
            "never got",
            "never showed",
            "not arrived",
            "not received",
            "hasn't arrived",
            "havent received",
            "haven't received",
            "hasn't come",
            "still not",
            "didn't arrive",
            "didn't receive",
            "didn't get",
            "not delivered",
            "no sign",
            "no response",
            "no reply",
            "no answer",
            "no update",
            "no one",
            "no refund",
            "no help",
            "no signal",
            "no service",
            "no internet",
            "no wifi",
            "no power",
            "no water",
            "on hold",
            "charged twice",
            "double charged",
            "been waiting",
            "still waiting",
            "waiting for",
            "not working",
            "not work",
            "doesn't work",
            "won't work",
            "stopped working",
            "isn't working",
            "not loading",
            "won't load",
            "won't let",
            "not happy",
            "not good",
            "not acceptable",
            "not fixed",
            "not resolved",
            "not sorted",
            "not helpful",
            "not impressed",
            "not responding",
            "doesn't let",
            "keeps crashing",
            "keeps saying",
            "keeps telling",
            "at all",
        ),
    },
    "inability": {
        "words": (
            "can't",
            "cannot",
            "cant",
            "couldn't",
            "couldnt",
            "unable",
            "won't",
            "wont",
            "impossible",
            "wouldn't",
            "refuses",
            "refusing",
        ),
    },
    "frustration": {
        "words": (
            "frustrated",
            "frustrating",
            "annoyed",
            "annoying",
            "disappointed",
            "disappointing",
            "angry",
            "furious",
            "livid",
            "fuming",
            "upset",
            "sick",
            "tired",
            "unhappy",
            "gutted",
            "ugh",
            "wtf",
            "seriously",
            "smh",
            "fml",
            "really",
            "absolutely",
            "every",
            "always",
        ),
        "bigrams": ("fed up", "sick of", "tired of", "had enough", "not happy", "so annoying"),
    },
    "second_person": {"words": ("you", "your", "you're", "yours", "u", "ur", "you've", "you'll", "ya")},
    "first_person": {"words": ("i", "my", "me", "i'm", "i've", "mine", "we", "our", "us", "i'd", "myself")},
    "question": {},
    "why_how": {
        "words": ("why", "where's", "whats", "what's"),
        "bigrams": ("how come", "where is", "going on", "how long", "how many", "when will", "when is"),
    },
    "demand": {
        "words": ("should", "must", "asap", "immediately", "urgently", "urgent", "demand", "expect"),
        "bigrams": (
            "sort it",
            "sort this",
            "fix it",
            "fix this",
            "please fix",
            "please help",
            "please sort",
            "need to",
            "needs to",
            "want my",
            "give me",
            "get back",
            "sort out",
        ),
    },
    "contact": {
        "words": (
            "help",
            "support",
            "helpline",
            "complaint",
            "complain",
            "complained",
            "reply",
            "respond",
            "response",
            "contact",
            "contacted",
            "dm",
            "dmd",
            "dm'd",
            "email",
            "emailed",
            "emails",
            "call",
            "called",
            "calling",
            "phoned",
            "rang",
            "chat",
            "resolve",
            "escalate",
            "customer",
            "service",
            "staff",
            "agent",
            "manager",
            "ticket",
            "case",
            "reference",
            "told",
        ),
    },
    "time": {
        "words": ("today", "yesterday", "tonight", "since", "ago", "now", "morning", "weekend"),
        "bigrams": ("this morning", "last week", "last night", "last month"),
    },
    "extreme": {
        "words": (
            "worst",
            "terrible",
            "awful",
            "horrible",
            "ridiculous",
            "joke",
            "useless",
            "unacceptable",
            "appalling",
            "shocking",
            "pathetic",
            "rubbish",
            "crap",
            "poor",
            "disgraceful",
            "shameful",
            "incompetent",
            "nightmare",
            "hate",
            "shit",
            "fuck",
            "fucking",
            "bs",
        ),
        "prefix": ("disgust",),
    },
    "thanks": {
        "words": (
            "thanks",
            "thank",
            "thx",
            "cheers",
            "love",
            "great",
            "awesome",
            "amazing",
            "loving",
            "best",
            "brilliant",
            "excellent",
            "perfect",
            "congrats",
            "congratulations",
            "enjoy",
            "happy",
            "fantastic",
            "lovely",
            "appreciate",
            "nice",
            "cool",
            "fun",
            "proud",
            "win",
            "respect",
            "kudos",
            "props",
            "legend",
            "legends",
            "impressed",
            "impressive",
            "flawless",
            "recommend",
            "bravo",
            "shoutout",
        ),
        "bigrams": PRAISE_BIGRAMS,
    },
    "exclaim": {},
}
_CUE_INDEX = {name: i for i, name in enumerate(CUES)}
_Q, _X, _T = _CUE_INDEX["question"], _CUE_INDEX["exclaim"], _CUE_INDEX["thanks"]
_PRAISE = frozenset(PRAISE_BIGRAMS)
_BIGRAM_CUES: dict[str, tuple[int, ...]] = {}
for _name, _lex in CUES.items():
    for _b in _lex.get("bigrams", ()):
        _BIGRAM_CUES[_b] = (*_BIGRAM_CUES.get(_b, ()), _CUE_INDEX[_name])

#: Names of the dense features, in vector order (``:`` keeps them apart from tokens).
DENSE_NAMES: tuple[str, ...] = (
    "vader:compound",
    "vader:negative",
    "vader:positive",
    "text:starts_with_mention",
    "text:has_link",
    *(f"cue:{k}" for k in CUES),
    "text:shouting",
    "text:length",
)
N_DENSE = len(DENSE_NAMES)

# raw lower-cased token -> (masked token, cue indices); learnt lazily, bounded
_MEMO: dict[str, tuple[str, tuple[int, ...]]] = {}
_MEMO_MAX = 200_000


def _learn(tok: str) -> tuple[str, tuple[int, ...]]:
    if tok.startswith(("http", "www.")):
        m = "http"
    elif tok.startswith("@") and len(tok) > 1:
        m = "@user"
    else:
        m = _REPEAT.sub(r"\1\1", _DIGITS.sub("0", tok))
    cues = []
    for name, lex in CUES.items():
        if (
            m in lex.get("words", ())
            or m.startswith(lex.get("prefix", ("\0",)))
            or m.endswith(lex.get("suffix", ("\0",)))
        ):
            cues.append(_CUE_INDEX[name])
    if "?" in m:
        cues.append(_Q)
    if "!" in m:
        cues.append(_X)
    entry = (m, tuple(cues))
    if len(_MEMO) >= _MEMO_MAX:
        _MEMO.clear()
    _MEMO[tok] = entry
    return entry


@dataclass(frozen=True, slots=True)
class Features:
    """What the model sees of one text: sparse keys (unigrams and bigrams, unique) and dense cues."""

    keys: tuple[str, ...]
    dense: list[float]


def tokens(text: str) -> list[str]:
    """Masked tokens of a normalised text (see the module docstring)."""
    memo = _MEMO
    out = []
    for t in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        e = memo.get(t)
        out.append((e or _learn(t))[0])
    return out


def extract(text: str, vader: dict[str, float]) -> Features:
    """Sparse keys and dense cue vector (in :data:`DENSE_NAMES` order) of one normalised text."""
    memo = _MEMO
    counts = [0] * len(CUES)
    toks = []
    tcues = []
    low = text.lower()
    for t in _TOKEN.findall(low.replace("\u2019", "'") if "\u2019" in low else low):
        e = memo.get(t) or _learn(t)
        toks.append(e[0])
        tcues.append(e[1])
        for c in e[1]:
            counts[c] += 1
    bigrams = [a + " " + b for a, b in zip(toks, toks[1:], strict=False)]
    bc = _BIGRAM_CUES
    for i, b in enumerate(bigrams):
        cs = bc.get(b)
        if cs:
            for c in cs:
                counts[c] += 1
            if b in _PRAISE:  # the idiom's own words fire no complaint cue
                for c in (*tcues[i], *tcues[i + 1]):
                    if c != _T and counts[c] > 0:
                        counts[c] -= 1
    caps = len(_CAPS.findall(text)) if text != low else 0
    dense = [
        vader.get("compound", 0.0),
        vader.get("neg", 0.0),
        vader.get("pos", 0.0),
        1.0 if text.startswith("@") else 0.0,
        1.0 if "http" in toks else 0.0,
        *[c / 3.0 if c < 3 else 1.0 for c in counts],
        min(caps, 3) / 3.0,
        min(len(text), 140) / 140.0,  # saturates: long is not ever more of a complaint
    ]
    keys = dict.fromkeys(toks)
    keys.update(dict.fromkeys(bigrams))
    return Features(tuple(keys), dense)
