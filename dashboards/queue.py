"""The case queue: filters in, one page of rows out (SQL does the filtering, sorting and paging).

:class:`QueueFilter` is what the queue's form asks for: free-text search (post text, author,
case id), status, priority, brand, source, assignee, topic, language and SLA state, and the sort
order. :func:`query_queue` returns one page of rows; :func:`facet_counts` the number of cases each
option of each filter would show, given the other filters. "Waiting for" is counted from the
customer's first post (``created_at`` on the platform), not from when gripewatch collected it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from gripewatch.analysis.topics import DISPLAY_NAMES
from gripewatch.config import Settings
from gripewatch.models import Author, Case, Mention

OPEN = ("new", "acknowledged", "waiting", "escalated")
STATUSES = ("open", "all", "new", "acknowledged", "waiting", "escalated", "resolved", "closed", "not_complaint")
PRIORITIES = ("critical", "high", "normal", "low")
SLA_STATES = ("breached", "due", "ok", "answered")
TOPICS = tuple(DISPLAY_NAMES)  # analysis' topic ids (billing_refunds, ...), shown in words
SORTS = {"priority": "priority", "waiting": "waiting longest", "sla_due": "SLA due soonest", "newest": "newest"}
FACET_LIMIT = 2000  # matching cases up to which every filter's counts are shown
_RANK = case({"critical": 0, "high": 1, "normal": 2, "low": 3}, value=Case.priority, else_=2)


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"
    priority: str | None = None
    brand: str | None = None
    source: str | None = None
    assignee: str | None = None  # a username, "me" or "none"
    topic: str | None = None
    language: str | None = None
    sla: str | None = None
    q: str | None = None  # free text: post text, author handle or name, or a case id (12 or #12)
    sort: str = "priority"
    backfill: str | None = None  # "yes": only backlog cases (already old when collected); "no": only live ones
    incident: int | None = None  # only the members of this incident
    page: int = 1

    @classmethod
    def from_query(cls, q: Any) -> QueueFilter:
        def pick(name: str, allowed: tuple[str, ...] | None = None) -> str | None:
            raw = q.get(name) or ""
            v = "".join(ch for ch in raw if ch.isprintable()).strip()[:128]  # no NUL or control characters
            return v if v and (allowed is None or v in allowed) else None

        try:
            page = max(1, min(int(q.get("page") or 1), 10_000))
        except ValueError:
            page = 1
        return cls(
            status=pick("status", STATUSES) or "open",
            priority=pick("priority", PRIORITIES),
            brand=pick("brand"),
            source=pick("source"),
            assignee=pick("assignee"),
            topic=pick("topic"),
            language=pick("language"),
            sla=pick("sla", SLA_STATES),
            q=pick("q"),
            sort=pick("sort", tuple(SORTS)) or "priority",
            backfill=pick("backfill", ("yes", "no")),
            incident=_int(q.get("incident")),
            page=page,
        )

    def query_string(self, **change: Any) -> str:
        from urllib.parse import urlencode

        d = {k: v for k, v in {**self.__dict__, **change}.items() if v not in (None, "", 1) or k == "status"}
        return urlencode(d)

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the default (open cases, by priority) is asked for."""
        return any((self.priority, self.brand, self.source, self.assignee, self.topic, self.language, self.sla, self.q))


def _int(v: Any) -> int | None:
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


Targets = Mapping[str, timedelta]  # first-response target per priority (``cases.sla``)


def first_response_targets(settings: Settings) -> dict[str, timedelta]:
    return {p: timedelta(minutes=t.first_response_minutes) for p, t in settings.cases.sla.items()}


def _target(targets: Targets, priority: str) -> timedelta:
    return targets.get(priority) or targets.get("normal") or timedelta(hours=4)


def _clock(c: Any) -> tuple[datetime, datetime] | None:
    """The first-response clock Slack works to (``alerts.sla.plan``: reminder and due time, counted in
    ``cases.working_hours``), or None for a case without a stored clock."""
    fr = (c.sla or {}).get("first_response") or {}
    try:
        return datetime.fromisoformat(fr["remind_at"]), datetime.fromisoformat(fr["due_at"])
    except (KeyError, TypeError, ValueError):
        return None


def sla_due(c: Any, targets: Targets) -> datetime | None:
    """When the case's first response is due (None once answered)."""
    if c.first_response_at is not None:
        return None
    clock = _clock(c)
    return clock[1] if clock else c.opened_at + _target(targets, c.priority)


def sla_state(c: Any, now: datetime, targets: Targets) -> str:
    """answered, or ok / due (after the 75 % reminder) / breached, by the case's stored SLA clock (the one
    Slack reminds and escalates by); a case without one is timed by wall clock against its priority's target."""
    if c.first_response_at is not None:
        return "answered"
    clock = _clock(c)
    if clock is None:
        target = _target(targets, c.priority)
        start = getattr(c, "customer_since", None) or c.opened_at
        clock = start + target * 0.75, start + target
    remind, due = clock
    return "breached" if now > due else "due" if now > remind else "ok"


def _sla_condition(state: str, now: datetime, targets: Targets) -> Any:
    """SQL for :func:`sla_state` == ``state`` (not "answered") over unanswered cases: the stored clock's
    ISO times compare as strings (all are UTC, written by ``alerts.sla.plan``), else the wall-clock rule."""
    remind = Case.sla[("first_response", "remind_at")].as_string()
    due = Case.sla[("first_response", "due_at")].as_string()
    at = now.astimezone(UTC).isoformat()
    stored = {"breached": due < at, "due": and_(remind < at, due >= at), "ok": remind >= at}[state]

    since = func.coalesce(Case.customer_since, Case.opened_at)  # the customer's clock

    def by_age(target: timedelta) -> Any:
        due_from, breach_from = now - target * 0.75, now - target
        if state == "breached":
            return since < breach_from
        if state == "due":
            return and_(since < due_from, since >= breach_from)
        return since >= due_from

    per_priority = [and_(Case.priority == p, by_age(t)) for p, t in targets.items()]
    per_priority.append(and_(Case.priority.not_in(list(targets)), by_age(_target(targets, "normal"))))
    return and_(
        Case.first_response_at.is_(None),
        or_(
            and_(remind.is_not(None), due.is_not(None), stored),
            and_(or_(remind.is_(None), due.is_(None)), or_(*per_priority)),
        ),
    )


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` literally (``%``, ``_`` and ``\\`` escaped with ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_topic(topic: str, m: Any = Mention) -> Any:
    """A post whose analysis holds ``topic`` as a JSON string."""
    return cast(m.analysis, String).like(f'%"{_like(topic)}"%', escape="\\")


def _in_language(language: str, m: Any = Mention) -> Any:
    return m.analysis["language"].as_string() == language


def _from_source(source: str, m: Any = Mention) -> Any:
    return m.source == source


def _with_post(cond: Any, narrowed: bool = True) -> Any:
    """Cases with a post matching ``cond``, read from ``ix_mentions_case_facets`` (case, source, analysis),
    never from the post rows. Among cases already narrowed by their own columns each case's posts are
    looked up (EXISTS selects a column: for ``SELECT *`` SQLite reads the whole row); over the whole
    history the posts are read once instead (IN). Both measured on 1,000,000 posts (benchmarks/digest.py)."""
    if narrowed:
        # (no "case_id IS NOT NULL" here: SQLite infers it from the equality, and PostgreSQL would plan a
        # merge join over every post of a case instead of one look-up per case)
        return select(Mention.case_id).where(Mention.case_id == Case.id, cond).exists()
    return Case.id.in_(select(Mention.case_id).where(Mention.case_id.is_not(None), cond).correlate(None))


def _search_condition(text: str) -> Any:
    """Post text, summary, author handle or name (case-insensitive), or the case id (``12``, ``#12``)."""
    needle = f"%{_like(text.lower().lstrip('@'))}%"
    who = aliased(Author)  # the queue's own join of Author must not swallow this one
    found = [
        func.lower(Case.summary).like(needle, escape="\\"),
        exists().where(
            who.id == Case.author_id,
            or_(
                func.lower(who.handle).like(needle, escape="\\"),
                func.lower(who.display_name).like(needle, escape="\\"),
            ),
        ),
        exists().where(Mention.case_id == Case.id, func.lower(Mention.text).like(needle, escape="\\")),
    ]
    digits = text.lstrip("#").strip()
    if digits.isdigit() and len(digits) < 10:
        found.append(Case.id == int(digits))
    return or_(*found)


def _conditions(f: QueueFilter, user: str, now: datetime, targets: Targets, skip: str | None = None) -> list[Any]:
    """The WHERE clauses of ``f`` (without the one named ``skip``, for that filter's counts)."""
    conds: list[Any] = []
    if skip != "status":
        if f.status == "open":
            conds.append(Case.status.in_(OPEN))
        elif f.status != "all":
            conds.append(Case.status == f.status)
    if f.priority and skip != "priority":
        conds.append(Case.priority == f.priority)
    if f.brand and skip != "brand":
        conds.append(Case.brand == f.brand)
    if skip != "assignee":
        if f.assignee == "none":
            conds.append(Case.assignee.is_(None))
        elif f.assignee:
            conds.append(Case.assignee == (user if f.assignee == "me" else f.assignee))
    if skip != "sla":
        if f.sla == "answered":
            conds.append(Case.first_response_at.is_not(None))
        elif f.sla:
            conds.append(_sla_condition(f.sla, now, targets))
    if f.incident is not None and skip != "incident":
        conds.append(Case.incident_id == f.incident)
    narrowed = bool(conds)  # by the cases' own columns: the post filters below look up each case's posts
    if f.backfill and skip != "backfill":
        conds.append(Case.backfill.is_(f.backfill == "yes"))
    if f.source and skip != "source":
        conds.append(_with_post(_from_source(f.source)))  # IN would read ix_mentions_source_created_at
    if f.topic and skip != "topic":
        conds.append(_with_post(_has_topic(f.topic), narrowed))
    if f.language and skip != "language":
        conds.append(_with_post(_in_language(f.language), narrowed))
    if f.q:
        conds.append(_search_condition(f.q))
    return conds


def _since() -> Any:
    """When the customer wrote first (``cases.customer_since``, the customer's clock), else when the case opened."""
    return func.coalesce(Case.customer_since, Case.opened_at)


def _order(f: QueueFilter) -> tuple[Any, ...]:
    if f.sort == "newest":
        return (Case.id.desc(),)
    if f.sort == "waiting":
        return (_since(), Case.id)
    if f.sort == "sla_due":
        due = Case.sla[("first_response", "due_at")].as_string()
        return (case((Case.first_response_at.is_not(None), 2), (due.is_(None), 1), else_=0), due, _RANK, Case.id)
    return (_RANK, _since(), Case.id)


def _waited(c: Case) -> str | None:
    """How long the customer waited for the first response, from their post (``"3 h"``), or None."""
    from gripewatch.alerts.blocks import span

    if c.first_response_at is None:
        return None
    return span(max(0.0, (c.first_response_at - (c.customer_since or c.opened_at)).total_seconds() / 60))


def query_queue(
    s: Session, f: QueueFilter, user: str, now: datetime, targets: Targets, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of cases matching ``f`` and the number of all matches."""
    conds = _conditions(f, user, now, targets)
    total = s.scalar(select(func.count()).select_from(Case).where(*conds)) or 0
    # the page's ids first, sorted and skipped over narrow index rows; then only those rows in full
    page = (
        select(Case.id).where(*conds).order_by(*_order(f)).limit(page_size).offset((f.page - 1) * page_size)
    ).subquery()
    q = (
        select(Case, Author.handle, Author.followers, Author.tier)
        .join(page, page.c.id == Case.id)
        .outerjoin(Author, Author.id == Case.author_id)
        .order_by(*_order(f))
    )
    rows = []
    for c, handle, followers, tier in s.execute(q).all():
        since = c.customer_since or c.opened_at
        waiting = (c.first_response_at or now) - since if c.status in OPEN or c.first_response_at else None
        rows.append(
            {
                "id": c.id,
                "status": c.status,
                "priority": c.priority,
                "brand": c.brand,
                "author": handle,
                "followers": followers,
                "tier": tier,
                "assignee": c.assignee,
                "opened_at": c.opened_at,
                "posted_at": since,
                "waiting": waiting if c.first_response_at is None else None,
                "answered_after": (c.first_response_at - since) if c.first_response_at else None,
                "due_at": sla_due(c, targets),
                "backfill": c.backfill,
                "incident_id": c.incident_id,
                "mentions": c.mention_count,
                "summary": c.summary,
                "sla": sla_state(c, now, targets) if c.status in OPEN else "closed",
            }
        )
    return rows, total


def _active(f: QueueFilter) -> set[str]:
    """The facets whose own filter is set (their counts need the other filters only)."""
    asked = {
        "status": f.status != "all", "priority": f.priority, "brand": f.brand, "assignee": f.assignee,
        "incident": f.incident is not None, "sla": f.sla, "topic": f.topic, "language": f.language,
        "source": f.source,
    }  # fmt: skip
    return {name for name, on in asked.items() if on}


_COLUMNS = {"status": Case.status, "priority": Case.priority, "brand": Case.brand, "assignee": Case.assignee,
            "incident": Case.incident_id}  # fmt: skip
_ON_POSTS = ("topic", "language", "source")  # facets counted over the posts of the cases


def facet_counts(
    s: Session,
    f: QueueFilter,
    user: str,
    now: datetime,
    targets: Targets,
    options: Mapping[str, tuple[str, ...]],
    total: int = 0,
) -> dict[str, dict[str, int]]:
    """For each filter, how many cases each of its ``options`` would show with the other filters kept.

    A filter that is not set counts over the page's own matches, so all of those are counted together: one
    read of the matching cases (their columns and SLA states) and one pass over their posts (topics,
    languages, sources). Each filter that is set needs the others only: one more query for it. No counts while more
    than :data:`FACET_LIMIT` cases match (``total``): on a big history they would cost more than the page
    (the total is always shown)."""
    if total > FACET_LIMIT:
        return {}
    sla_options = {
        state: Case.first_response_at.is_not(None) if state == "answered" else _sla_condition(state, now, targets)
        for state in SLA_STATES
    }
    post = aliased(Mention)  # the posts counted; the filters' own subqueries read ``mentions`` unaliased
    post_options = {
        "topic": {t: _has_topic(t, post) for t in options.get("topic", TOPICS)},
        "language": {x: _in_language(x, post) for x in options.get("language", ())},
        "source": {x: _from_source(x, post) for x in options.get("source", ())},
    }
    active = _active(f)
    counted: dict[str, dict[Any, int]] = {}

    def on_cases(names: list[str], skip: str | None) -> None:
        """Counts of the case-column facets ``names`` (and "sla") in one query: over the page's own matches
        (``skip`` None: at most FACET_LIMIT rows) the rows themselves, tallied here; else a GROUP BY. The
        SLA states need the ``sla`` JSON, which no index holds: those rows are found by id from the ids the
        index gives (SQLite's statistics cannot tell that few cases are open, and it would read them all)."""
        columns = [_COLUMNS[n].label(n) for n in names if n in _COLUMNS]
        flags = [case((c, 1), else_=0).label(f"sla_{k}") for k, c in sla_options.items()] if "sla" in names else []
        if not columns and not flags:
            return
        conds = _conditions(f, user, now, targets, skip)
        where = [Case.id.in_(select(Case.id).where(*conds).correlate(None))] if flags else conds
        rows = select(*columns, *flags).where(*where).subquery()
        if skip is None:
            found = [(*r, 1) for r in s.execute(select(*rows.c)).all()]
        else:
            found = [tuple(r) for r in s.execute(select(*rows.c, func.count()).group_by(*rows.c)).all()]
        for *values, n in found:
            for col, v in zip(rows.c, values, strict=True):
                if col.name.startswith("sla_"):
                    name, key = "sla", col.name.removeprefix("sla_")
                    if not v:
                        continue
                else:
                    name, key = col.name, v
                tally = counted.setdefault(name, {})
                tally[key] = tally.get(key, 0) + n

    def on_posts(names: list[str], skip: str | None) -> None:
        """Per option of the post facets ``names``: the cases with at least one such post, in one pass."""
        wanted = [(n, k, c) for n in names for k, c in post_options[n].items()]
        if not wanted:
            return
        matched = select(Case.id).where(*_conditions(f, user, now, targets, skip)).correlate(None)
        per_case = (
            select(*(func.max(case((c, 1), else_=0)).label(f"o{i}") for i, (_n, _k, c) in enumerate(wanted)))
            .where(post.case_id.is_not(None), post.case_id.in_(matched))
            .group_by(post.case_id)
            .subquery()
        )
        got = s.execute(select(*(func.coalesce(func.sum(col), 0) for col in per_case.c))).one()
        for (name, key, _c), n in zip(wanted, got, strict=True):
            counted.setdefault(name, {})[key] = int(n or 0)

    shared = [n for n in (*_COLUMNS, "sla", *_ON_POSTS) if n not in active]
    on_cases(shared, None)
    on_posts([n for n in shared if n in _ON_POSTS], None)
    for name in sorted(active):
        (on_posts if name in _ON_POSTS else on_cases)([name], name)

    def got(name: str) -> dict[Any, int]:
        return counted.get(name, {})

    by_status = got("status")
    out: dict[str, dict[str, int]] = {"status": {k: by_status.get(k, 0) for k in STATUSES}}
    out["status"]["open"] = sum(by_status.get(k, 0) for k in OPEN)
    out["status"]["all"] = sum(by_status.values())
    out["priority"] = {k: got("priority").get(k, 0) for k in PRIORITIES}
    out["brand"] = {k: got("brand").get(k, 0) for k in options.get("brand", ())}
    by_assignee = got("assignee")
    out["assignee"] = {str(k): n for k, n in by_assignee.items() if k is not None}
    out["assignee"]["none"] = by_assignee.get(None, 0)
    out["assignee"]["me"] = by_assignee.get(user, 0)
    out["incident"] = {str(k): n for k, n in got("incident").items() if k is not None}
    out["sla"] = {k: got("sla").get(k, 0) for k in SLA_STATES}
    for name in _ON_POSTS:
        out[name] = {k: got(name).get(k, 0) for k in post_options[name]}
    return out


def languages(s: Session) -> tuple[str, ...]:
    """The languages analysis found in the posts of cases (``analysis["language"]``), most common first."""
    lang = Mention.analysis["language"].as_string()
    rows = s.execute(
        select(lang, func.count()).where(Mention.case_id.is_not(None), lang.is_not(None)).group_by(lang)
        .order_by(func.count().desc()).limit(30)
    ).all()  # fmt: skip
    return tuple(str(k) for k, _ in rows if k)
