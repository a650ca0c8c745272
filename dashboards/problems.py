"""Top recurring problems: group similar complaints and pick representative quotes. Pure.

Complaints with topics (from analysis) are grouped by topic. The others --
complaints no topic pattern matched, which analysis tags ``other`` -- are
grouped by what they say: each is a TF-IDF vector of its distinctive words and
two-word phrases (brand names and stop words removed), and a leader clustering
puts it with the most similar group (cosine of the group's centroid at least
``similarity``) or starts a new one. A group is named by its top shared phrase
(the term most of its complaints contain, a phrase preferred over its own
word) -- when fewer than half of them contain it, the group keeps only those
that do; a group smaller than ``min_size``, or whose complaints share no term,
is not a recurring problem and is not listed. ``other`` itself is never a group.
Each group's quotes are the complaints that share most of the group's frequent
terms, from different authors.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

UNMATCHED = "other"  # analysis' topic for a complaint no pattern matched: grouped by content instead

_WORD = re.compile(r"[^\W\d_][\w'’-]{2,}", re.UNICODE)
_NOISE = re.compile(r"https?://\S+|[@#]\w+")
STOP = frozenset(
    """the and for you your are was were has have had not but with this that from they them their what when
    why how who all any can cant can't could would should will just now get got been being into out about again
    our one two its it's than then there here very really still even also only more most some such too off over
    day days week today yesterday hours time anyone someone thing things does did doing don't dont didn't didnt
    is im i'm ive i've me my mine we us it an as at be by do if in no of on or so to up
    que los las una por para con del como pero más esta este nadie hace
    der die das und ist nicht mit ein eine auf seit ich den dem echt gar nichts
    les des est pas une pour avec dans sur qui plus mais
    thanks thank please help hello hey guys lol wrong again bad worst terrible awful ridiculous seriously literally
    back can't won't isn't doesn't haven't hasn't wasn't aren't couldn't wouldn't month months says say anything
    else actually min hour minutes happened pls lmao kinda honestly incredible brilliant
    after before through since until ago yet came come coming went gone left took take told tell asked
    nothing never every going want know said tried need like just last first new good great love way make
    anyone's everyone""".split()
)


@dataclass(frozen=True)
class Complaint:
    """What grouping needs of one complaint."""

    id: int
    text: str
    author: str | None
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    label: str  # the topic key, or the theme's top shared phrase (see ``name`` for people)
    kind: str  # "topic" | "theme"
    members: tuple[int, ...]  # complaint ids, in input order
    quotes: tuple[int, ...]  # representative complaint ids
    terms: tuple[str, ...]  # what the group's complaints share most


def name(group: Group) -> str:
    """What people read: a topic in words ("Billing and refunds"), a theme's phrase capitalised ("Status page")."""
    from gripewatch.analysis.topics import display_name

    return display_name(group.label) if group.kind == "topic" else group.label[:1].upper() + group.label[1:]


def terms(text: str, ignore: frozenset[str] = frozenset()) -> set[str]:
    """Distinctive words and two-word phrases of ``text`` (lower-cased)."""
    words = [w.lower().strip("'’-") for w in _WORD.findall(_NOISE.sub(" ", text))]
    words = [w for w in words if len(w) >= 3 and w not in STOP and w not in ignore]
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def group_complaints(
    complaints: Sequence[Complaint],
    ignore: Iterable[str] = (),
    min_size: int = 2,
    max_groups: int = 12,
    quotes: int = 3,
    similarity: float = 0.2,
) -> list[Group]:
    """Groups of similar complaints, largest first."""
    ign = frozenset(w.lower() for name in ignore for w in name.split())
    bags = {c.id: terms(c.text, ign) for c in complaints}
    by_id = {c.id: c for c in complaints}
    groups: list[tuple[str, str, list[int]]] = []
    topical = {c.id: tuple(t for t in c.topics if t != UNMATCHED) for c in complaints}
    topics = Counter(t for c in complaints for t in set(topical[c.id]))
    for t, _n in topics.most_common():
        groups.append((t, "topic", [c.id for c in complaints if t in topical[c.id]]))
    rest = [c.id for c in complaints if not topical[c.id]]
    for members in cluster([bags[i] for i in rest], similarity):
        if len(members) >= min_size:
            ids = [rest[k] for k in members]
            label = top_phrase([bags[i] for i in ids])
            if label is not None and 2 * sum(label in bags[i] for i in ids) < len(ids):
                ids = [i for i in ids if label in bags[i]]  # a loose group: only what its name says
            if label is not None and len(ids) >= min_size:
                groups.append((label, "theme", ids))
    out = []
    for label, kind, members in groups:
        shared = Counter(t for i in members for t in bags[i])
        top = tuple(t for t, k in shared.most_common(8) if k >= 2 and t != label)[:5]
        out.append(Group(label, kind, tuple(members), _quotes(members, bags, shared, by_id, quotes), top))
    out.sort(key=lambda g: (-len(g.members), g.label))
    return out[:max_groups]


def cluster(bags: Sequence[set[str]], similarity: float = 0.2) -> list[list[int]]:
    """Leader clustering of TF-IDF vectors of ``bags`` (indexes into it, groups in order of their leader).

    Only terms shared by two bags or more count (a term nobody else wrote cannot make two alike); each
    bag joins the group whose centroid is most similar (cosine >= ``similarity``), else leads a new one.
    Bags are visited richest first, so a group is led by a complaint that says the most.
    """
    df = Counter(t for b in bags for t in b)
    vocab = {t: k for k, t in enumerate(sorted(t for t, n in df.items() if n >= 2))}
    if not vocab:
        return [[i] for i in range(len(bags))]
    n = len(bags)
    idf = np.array([np.log((1 + n) / (1 + df[t])) + 1 for t in sorted(vocab, key=vocab.__getitem__)])
    x = np.zeros((n, len(vocab)))
    for i, b in enumerate(bags):
        for t in b:
            if t in vocab:
                x[i, vocab[t]] = idf[vocab[t]] * (1.5 if " " in t else 1.0)  # a shared phrase says more
    norms = np.linalg.norm(x, axis=1)
    x = np.divide(x, norms[:, None], out=np.zeros_like(x), where=norms[:, None] > 0)
    sums: list[np.ndarray] = []
    groups: list[list[int]] = []
    for i in sorted(range(n), key=lambda i: (-int(np.count_nonzero(x[i])), i)):
        if not norms[i]:
            groups.append([i])
            sums.append(np.zeros(len(vocab)))
            continue
        best, score = -1, similarity
        for g, total in enumerate(sums):
            length = np.linalg.norm(total)
            if length:
                sim = float(x[i] @ total) / float(length)
                if sim >= score:
                    best, score = g, sim
        if best < 0:
            groups.append([i])
            sums.append(x[i].copy())
        else:
            groups[best].append(i)
            sums[best] += x[i]
    return [sorted(g) for g in groups]


def top_phrase(bags: Sequence[set[str]]) -> str | None:
    """The term most of ``bags`` share (a two-word phrase preferred over its own word); None if none is shared."""
    df = Counter(t for b in bags for t in b)
    shared = [(t, k) for t, k in df.items() if k >= 2]
    if not shared:
        return None
    return max(shared, key=lambda tk: (tk[1] * (1.25 if " " in tk[0] else 1.0), len(tk[0]), tk[0]))[0]


def _quotes(
    members: list[int], bags: dict[int, set[str]], shared: Counter[str], by_id: dict[int, Complaint], n: int
) -> tuple[int, ...]:
    def score(i: int) -> tuple[float, int]:
        length = len(by_id[i].text)
        fit = sum(shared[t] for t in bags[i]) / max(len(bags[i]), 1)
        return (-(fit - (0.5 if length > 280 or length < 25 else 0.0)), i)

    picked: list[int] = []
    authors: set[str | None] = set()
    for i in sorted(members, key=score):
        a = by_id[i].author
        if a is not None and a in authors:
            continue
        picked.append(i)
        authors.add(a)
        if len(picked) == n:
            break
    return tuple(picked)
