"""Top recurring problems: group similar complaints and pick representative quotes. Pure.

Complaints with topics (from analysis) are grouped by topic. The others are
grouped by the most shared distinctive term (a word or a two-word phrase,
brand names and stop words removed): the term found in the most complaints
takes them all, then the next, until no term is shared by ``min_size``
complaints. Each group's quotes are the complaints that share most of the
group's frequent terms, from different authors.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
    label: str
    kind: str  # "topic" | "theme"
    members: tuple[int, ...]  # complaint ids, in input order
    quotes: tuple[int, ...]  # representative complaint ids
    terms: tuple[str, ...]  # what the group's complaints share most


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
) -> list[Group]:
    """Groups of similar complaints, largest first."""
    ign = frozenset(w.lower() for name in ignore for w in name.split())
    bags = {c.id: terms(c.text, ign) for c in complaints}
    by_id = {c.id: c for c in complaints}
    groups: list[tuple[str, str, list[int]]] = []
    topics = Counter(t for c in complaints for t in set(c.topics))
    for t, _n in topics.most_common():
        groups.append((t, "topic", [c.id for c in complaints if t in c.topics]))
    rest = [c.id for c in complaints if not c.topics]
    while rest and len(groups) < max_groups * 2:
        df = Counter(t for i in rest for t in bags[i])
        if not df:
            break
        # prefer a phrase over its own word when it covers most of the word's complaints
        term, n = max(df.items(), key=lambda kv: (kv[1] * (1.25 if " " in kv[0] else 1.0), kv[0]))
        if n < min_size:
            break
        members = [i for i in rest if term in bags[i]]
        groups.append((term, "theme", members))
        rest = [i for i in rest if term not in bags[i]]
    out = []
    for label, kind, members in groups:
        shared = Counter(t for i in members for t in bags[i])
        top = tuple(t for t, k in shared.most_common(8) if k >= 2 and t != label)[:5]
        out.append(Group(label, kind, tuple(members), _quotes(members, bags, shared, by_id, quotes), top))
    out.sort(key=lambda g: (-len(g.members), g.label))
    return out[:max_groups]


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
