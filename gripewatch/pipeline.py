"""The data path: collect → normalise → bound → deduplicate → analyse → case → outbox.

``run_source`` pulls a source's pages and stores each in **one transaction**
together with its cases, its outbox rows and the source's new cursor, so a
crash at any point loses nothing and a re-run duplicates nothing. Delivery is
separate (``alerts.outbox.dispatch``).

**Quarantine, not rollback.** One bad record never blocks its page or its
source. In ``store_page`` every record the collector could not normalise, every
mention out of bounds (:func:`gripewatch.collectors.bounds.bounded`), every
second version of an id within the page, and every record the database refuses
goes to the ``rejected`` table (:mod:`gripewatch.quarantine`) in the page's
transaction, and the cursor moves past it. The page is stored inside a
SAVEPOINT; if anything in it fails, that savepoint is rolled back and the page
is stored again one record per savepoint, so only the record that fails is
quarantined (the fast path costs one savepoint per page). The cursor is written
before the savepoint (the same transaction, so still atomic): a SAVEPOINT that
opened SQLite's transaction would read a snapshot first and fail to upgrade it
to a write when another process wrote meanwhile, where a write first waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, tuple_
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from gripewatch.alerts import answer, backfill, cases, copies, memo
from gripewatch.brands import BrandMatcher
from gripewatch.collectors import REGISTRY
from gripewatch.collectors.base import Mention as Incoming
from gripewatch.collectors.base import Page, Rejected, provenance
from gripewatch.collectors.bounds import bounded, why
from gripewatch.config import Settings, SourceConfig
from gripewatch.db import Database
from gripewatch.errors import RateLimited, SourceError
from gripewatch.models import OPEN_STATUSES, Author, Case, CaseEvent, Mention, SourceState, utcnow
from gripewatch.quarantine import quarantine

if TYPE_CHECKING:
    from gripewatch.analysis import Analysis

log = logging.getLogger(__name__)


@dataclass
class SourceRun:
    source: str
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    complaints: int = 0
    cases_opened: int = 0
    cases_updated: int = 0
    skipped: list[str] = field(default_factory=list)  # the reason of every record quarantined in this run
    error: str | None = None
    edited: int = 0
    deleted: int = 0
    deferred_until: datetime | None = None  # rate limited: the source resumes after this
    ops_alert: str | None = None
    backfill: dict[str, Any] = field(default_factory=dict)  # backlog cases opened (alerts.backfill)


def build_collector(source: SourceConfig, settings: Settings):  # type: ignore[no-untyped-def]
    return REGISTRY[source.type](source, settings.brands)


def run_source(
    db: Database,
    settings: Settings,
    source: SourceConfig,
    collector: Any = None,
    now: Callable[[], datetime] = utcnow,
    on_page: Callable[[SourceRun], object] | None = None,
    state_key: str | None = None,
) -> SourceRun:
    """Collect and store every new page of ``source``; record its health either way.

    A source still inside a rate-limit window is not called. A 429 (or the
    request budget running out) stops the run cleanly: pages already stored
    stay, the source resumes after the reset, and it is not a failure. Any
    other error is a failure; a failing or silent source raises one ops alert.
    ``state_key`` keeps the cursor and health under another name (a backfill).
    """
    key = state_key or source.name
    run = SourceRun(source.name)
    collector = collector or build_collector(source, settings)
    matcher = BrandMatcher(settings.brands)
    edge = getattr(collector, "edge", None)
    with db.sessions() as s:
        state = s.get(SourceState, key)
        cursor = dict(state.cursor) if state else {}
        limited = state.rate_limited_until if state else None
        if edge is not None:
            edge.now = now
            if state is not None:
                edge.budget.window_start, edge.budget.used = state.budget_window_start, state.budget_used or 0
    if limited is not None and limited > now():
        log.warning("%s: rate limited until %s; not called this run", source.name, limited.isoformat())
        run.deferred_until = limited
        return run
    try:
        for page in collector.collect(cursor):
            with db.sessions() as s, s.begin():
                store_page(s, settings, source, page, matcher, run, now(), key)
            if on_page:
                on_page(run)
    except RateLimited as e:
        run.deferred_until = e.reset_at
        log.warning("%s: %s", source.name, e)
    except SourceError as e:
        run.error = str(e)
    except Exception as e:  # a library surprise in one source is that source's failure, recorded like any other
        log.exception("%s: collector crashed", source.name)
        run.error = f"unexpected {e.__class__.__name__}: {str(e)[:300]}"
    with db.sessions() as s, s.begin():
        state = s.get(SourceState, key) or SourceState(source=key, cursor={})
        s.add(state)
        at = now()
        if run.error:
            state.last_error, state.last_error_at = run.error[:1000], at
            state.consecutive_failures = (state.consecutive_failures or 0) + 1
        else:
            state.last_success_at, state.consecutive_failures = at, 0
        state.rate_limited_until = run.deferred_until
        if edge is not None:
            state.budget_window_start, state.budget_used = edge.budget.window_start, edge.budget.used
        s.flush()
        from gripewatch.collectors.health import raise_ops_alerts

        if key == source.name:
            run.ops_alert = raise_ops_alerts(s, settings, source, at)
        backfill.release(s, run.backfill, at)
    return run


def store_page(
    s: Session,
    settings: Settings,
    source: SourceConfig,
    page: Page,
    matcher: BrandMatcher,
    run: SourceRun,
    now: datetime,
    state_key: str | None = None,
    move_cursor: bool = True,
) -> None:
    """Store one page, its analysis, cases, alerts and the cursor — in the caller's transaction.

    What cannot be stored is quarantined instead (see the module's docstring); ``run.skipped``
    gets each reason. ``move_cursor=False`` stores mentions without touching the cursor (retry).
    """
    run.fetched += len(page.mentions)
    if move_cursor:  # written first: on SQLite this takes the write lock before the page's savepoint
        key = state_key or source.name
        state = s.get(SourceState, key) or SourceState(source=key)
        state.cursor, state.updated_at = page.cursor, now
        s.add(state)
        s.flush()
    for item in page.skipped:
        _reject(s, source.name, item, run, now)
    items: list[Incoming] = []
    for it in page.mentions:
        b = bounded(it, now)
        if isinstance(b, Rejected):
            _reject(s, source.name, b, run, now)
        else:
            items.append(b)
    items = _same_id_once(s, source.name, items, run, now)
    if items and not _saved(s, settings, source, items, matcher, run, now):
        log.warning("%s: a page failed to store; storing it one record at a time", source.name)
        for it in items:  # a record that fails now is quarantined; the rest go on
            _saved(s, settings, source, [it], matcher, run, now, quarantine_on_failure=True)
    backfill.summarise(s, settings, source.name, run.backfill, now)


def _saved(
    s: Session,
    settings: Settings,
    source: SourceConfig,
    items: list[Incoming],
    matcher: BrandMatcher,
    run: SourceRun,
    now: datetime,
    quarantine_on_failure: bool = False,
) -> bool:
    """Store ``items`` inside a SAVEPOINT; on failure roll it (and the run's counts) back, False.

    A database outage is raised (the page fails and is retried later); anything else the
    database or the analysis refuses is that record's problem, never the page's.
    """
    counters, tally = _counters(run), dict(run.backfill)
    try:
        with s.begin_nested():
            _store(s, settings, source, items, matcher, run, now)
        return True
    except Exception as e:  # hostile data: refused values must not fail the page
        if _is_outage(e):
            raise
        vars(run).update(counters)
        run.backfill.clear()
        run.backfill.update(tally)  # the rolled-back cases are not in the run's backfill summary
        if quarantine_on_failure:
            (it,) = items
            _reject(s, source.name, Rejected(f"could not be stored: {why(e)}", it.raw, it.external_id), run, now)
        return False


def _store(
    s: Session,
    settings: Settings,
    source: SourceConfig,
    items: list[Incoming],
    matcher: BrandMatcher,
    run: SourceRun,
    now: datetime,
) -> None:
    """Store bounded mentions (no id twice): deletions, edits, new posts with analysis and cases."""
    with memo.scope(s) as page:
        _store_in(s, settings, source, items, matcher, run, now, page)


def _store_in(
    s: Session,
    settings: Settings,
    source: SourceConfig,
    items: list[Incoming],
    matcher: BrandMatcher,
    run: SourceRun,
    now: datetime,
    page: memo.PageMemo,
) -> None:
    live = [it for it in items if not it.deleted]
    _purge_deleted(s, source.name, [it for it in items if it.deleted], run, now)
    fresh = _deduplicate(s, source.name, live)
    run.duplicates += len(live) - len(fresh)
    max_rating = getattr(source.options, "complaint_max_rating", None)
    edits = [it for it in live if it.edited and it not in fresh]
    _apply_edits(s, settings, source.name, edits, run, now, max_rating)
    if not fresh:
        s.flush()
        return
    authors = _authors(s, fresh)
    texts = [it.text for it in fresh]
    brands = [source.brand or matcher.match(t) for t in texts]
    owns = [it.is_own or matcher.is_own(b, it.platform, it.author_handle) for b, it in zip(brands, fresh, strict=True)]
    who = [authors.get((it.platform, k)) if (k := _author_key(it)) else None for it in fresh]
    priors = _prior_contacts(s, who, brands)
    from gripewatch.analysis import analyse_batch  # the model loads with the first page, not on a run with none

    results = analyse_batch(texts, settings.analysis_settings(), prior_contacts=priors, own_post=owns)
    seen = copies.Copies.load(s, {r.fingerprint for r in results if r.fingerprint}, [it.created_at for it in fresh])
    stored: list[Mention] = []
    for n, (item, text, brand, own, author, result) in enumerate(
        zip(fresh, texts, brands, owns, who, results, strict=True)
    ):
        duplicate_of, copy_of = seen.match(brand, result.fingerprint, text, author, item.created_at)
        low = rating_reason(item.rating, max_rating)
        stored.append(
            Mention(
                source=source.name,
                platform=item.platform,
                external_id=item.external_id,
                brand=brand,
                author=author,
                url=item.url,
                text=text,
                lang=item.lang,
                created_at=item.created_at,
                collected_at=now,
                conversation_id=item.conversation_id,
                in_reply_to=item.in_reply_to,
                is_repost=item.is_repost or result.noise == "retweet",
                is_own=own,
                raw=item.raw,
                provenance=provenance(source.name, item.platform, item.url),
                sentiment=result.sentiment,
                complaint_probability=result.complaint_probability,
                is_complaint=(result.is_complaint or low is not None) and not own and not item.is_repost,
                severity=result.severity,
                fingerprint=result.fingerprint or None,
                analysis={**analysis_detail(result, duplicate_of, item.rating, low), "copy_of": copy_of},
            )
        )
        # an earlier post of this page is known by its place until the page is inserted (copies.PAGE)
        seen.add_seen(
            brand,
            result.fingerprint,
            text,
            copies.Seen(copies.in_page(n), author.id if author else None, item.created_at),
        )
    s.add_all(stored)
    s.flush()  # the page's mentions in one batched INSERT
    for m in stored:
        detail = m.analysis or {}
        ids = {
            k: stored[copies.page_index(v)].id
            for k in ("duplicate_of", "copy_of")
            if copies.is_in_page(v := detail.get(k))
        }
        if ids:
            m.analysis = {**detail, **ids}
    run.stored += len(stored)
    page.load(s, [a for a in who if a is not None], _outbox_keys(source.name, stored))
    page.copies = seen
    replies: list[tuple[Mention, Incoming]] = []
    for m, item in zip(stored, fresh, strict=True):
        if m.is_own:
            replies.append((m, item))
        else:
            _route(s, settings, m, item, run, now)
    if replies:  # the posts the page's brand replies answer, looked up in one query (external_id has no index)
        page.load_answered(s, [(m.platform, ext) for m, item in replies for ext in _reply_targets(item)])
    for m, item in replies:  # after the page's other posts, so a reply finds the post it answers
        _route(s, settings, m, item, run, now)
    s.flush()


def _outbox_keys(source: str, stored: list[Mention]) -> list[str]:
    """The outbox keys routing the page's mentions may queue (alerts.cases: opened / update)."""
    return [f"{kind}:{source}:{m.external_id}" for m in stored for kind in ("opened", "update")]


def _reject(s: Session, source: str, item: Rejected, run: SourceRun, now: datetime) -> None:
    """The one way out of the data path for a record that cannot be stored: the quarantine."""
    quarantine(s, source, item, now)
    run.skipped.append(item.reason)


def _same_id_once(s: Session, source: str, items: list[Incoming], run: SourceRun, now: datetime) -> list[Incoming]:
    """An id twice in one page: the same text again is the same post (counted as a duplicate);
    a different text is quarantined with the reason (the first is stored; ``gripewatch rejected
    retry`` applies the second as an edit of it)."""
    first: dict[tuple[str, bool], Incoming] = {}
    kept = []
    for it in items:
        key = (it.external_id, it.deleted)
        seen = first.get(key)
        if seen is None:
            first[key] = it
            kept.append(it)
        elif seen.text == it.text or it.deleted:
            run.duplicates += 1
        else:
            reason = f"duplicate id {it.external_id[:80]} in one page with a different text: the first was stored"
            _reject(s, source, Rejected(reason, it.raw, it.external_id), run, now)
    return kept


def _counters(run: SourceRun) -> dict[str, int]:
    return {k: v for k, v in vars(run).items() if isinstance(v, int) and not isinstance(v, bool)}


def _is_outage(e: BaseException) -> bool:
    """The database is unreachable or locked: the page fails (and is retried), nothing is quarantined."""
    if isinstance(e, OperationalError | InterfaceError):
        return True
    return isinstance(e, DBAPIError) and bool(e.connection_invalidated)


def _route(s: Session, settings: Settings, m: Mention, item: Incoming, run: SourceRun, now: datetime) -> None:
    """Open, join, reopen or answer a case for a stored mention (one case per customer problem)."""
    if (m.is_own or m.in_reply_to) and answer.recognise(s, m):  # a reply gripewatch posted: counted once
        return
    if m.is_own:
        replied = _answered(s, m, item)
        if replied is not None:
            case = s.get(Case, replied.case_id)
            if case is not None:
                cases.record_brand_reply(s, case, m, now, settings)
        return
    if m.is_complaint:
        run.complaints += 1
    if m.is_repost or m.brand is None or (m.analysis or {}).get("noise"):
        return
    case = cases.case_for(s, m)
    if case is not None:
        cases.attach(s, case, m, settings, now)
        run.cases_updated += 1
        return
    resolved = cases.case_for(s, m, ("resolved",))
    if resolved is not None and cases.after_resolution(s, resolved, m, settings, now):
        run.cases_updated += 1
    elif m.is_complaint and not (m.analysis or {}).get("duplicate_of"):
        case = cases.open_case(s, m, settings, now)
        run.cases_opened += 1
        if case.backfill:
            backfill.note_case(run.backfill, case)


def analysis_detail(
    result: Analysis, duplicate_of: int | None = None, rating: int | None = None, rating_reason: str | None = None
) -> dict[str, Any]:
    """What a mention keeps of its analysis beyond the scored columns (shown to staff, used by the digest).

    A review's stars are kept as ``rating``; when they made it a complaint, that reason comes first.
    """
    detail: dict[str, Any] = {
        "topics": list(result.topics),
        "escalation": list(result.escalation),
        "reasons": ([rating_reason] if rating_reason else []) + list(result.reasons),
        "third_parties": list(result.third_parties),
        "competitors": list(result.competitors),
        "noise": result.noise,
        "duplicate_of": duplicate_of,
        "language": result.language,
        "needs_review": result.needs_review,
        "tier": result.tier,
    }
    if rating is not None:
        detail["rating"] = rating
    return detail


def rating_reason(rating: int | None, max_rating: int | None) -> str | None:
    """ "rating 1★ ≤ 2" when a review's stars make it a complaint whatever the model says, else None."""
    if rating is None or max_rating is None or rating > max_rating:
        return None
    return f"rating {rating}★ ≤ {max_rating}"


def storable(text: str) -> str:
    """The text as stored: whole (never truncated), without NUL and lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", errors="replace").decode("utf-8")


def _prior_contacts(s: Session, authors: list[Author | None], brands: list[str | None]) -> list[int]:
    """For each mention: how many mentions its author already has in an open case with the brand."""
    ids = {a.id for a in authors if a is not None and a.id is not None}
    if not ids:
        return [0] * len(authors)
    rows = s.execute(
        select(Case.author_id, Case.brand, Case.mention_count).where(
            Case.author_id.in_(ids), Case.status.in_(OPEN_STATUSES)
        )
    ).all()
    counts = {(a, b): n for a, b, n in rows}
    return [counts.get((a.id, b), 0) if a is not None else 0 for a, b in zip(authors, brands, strict=True)]


def _reply_targets(item: Incoming) -> list[str]:
    return [ext for ext in (item.in_reply_to, item.conversation_id) if ext and ext != item.external_id]


def _answered(s: Session, m: Mention, item: Incoming) -> Mention | None:
    """The customer post (with a case) a brand post replies to: its parent, else its thread's root."""
    page = memo.current(s)
    for ext in _reply_targets(item):
        if page is not None and (m.platform, ext) in page.asked:
            replied = page.answered.get((m.platform, ext))
            if replied is not None:
                return replied
            continue
        replied = s.scalars(
            select(Mention).where(
                Mention.platform == m.platform,
                Mention.external_id == ext,
                Mention.case_id.is_not(None),
                Mention.is_own.is_(False),
            )
        ).first()
        if replied is not None:
            return replied
    return None


def _existing(s: Session, source: str, ids: list[str]) -> dict[str, Mention]:
    if not ids:
        return {}
    rows = s.scalars(select(Mention).where(Mention.source == source, Mention.external_id.in_(ids))).all()
    return {m.external_id: m for m in rows}


def _purge_deleted(s: Session, source: str, items: list[Incoming], run: SourceRun, now: datetime) -> None:
    """The platform says these posts are gone: mark them and purge their text and payload."""
    for m in _existing(s, source, [it.external_id for it in items]).values():
        if m.deleted_at is not None:
            continue
        m.deleted_at, m.text, m.raw = now, "", {"deleted": True}
        run.deleted += 1
        if m.case_id is not None:
            s.add(
                CaseEvent(
                    case_id=m.case_id,
                    at=now,
                    actor="gripewatch",
                    kind="mention_deleted",
                    detail={"mention_id": m.id, "url": m.url},
                )
            )


def _apply_edits(
    s: Session,
    settings: Settings,
    source: str,
    items: list[Incoming],
    run: SourceRun,
    now: datetime,
    max_rating: int | None = None,
) -> None:
    """Newer versions of stored posts: replace text and payload, re-score; a new complaint is routed."""
    found = _existing(s, source, [it.external_id for it in items])
    todo = [(found[it.external_id], it) for it in items if it.external_id in found]
    todo = [(m, it) for m, it in todo if m.deleted_at is None and m.text != storable(it.text)]
    todo = [(m, it) for m, it in todo if not (m.raw or {}).get("erased")]  # forgotten on request: stays so
    if not todo:
        return
    from gripewatch.analysis import analyse_batch

    results = analyse_batch([it.text for _, it in todo], settings.analysis_settings())
    for (m, it), result in zip(todo, results, strict=True):
        was_complaint = m.is_complaint
        m.text, m.raw, m.edited_at = storable(it.text), it.raw, now
        m.sentiment, m.complaint_probability, m.severity = (
            result.sentiment,
            result.complaint_probability,
            result.severity,
        )
        low = rating_reason(it.rating, max_rating)
        m.is_complaint = (result.is_complaint or low is not None) and not m.is_own and not m.is_repost
        duplicate_of = (m.analysis or {}).get("duplicate_of")
        m.analysis, m.fingerprint = analysis_detail(result, duplicate_of, it.rating, low), result.fingerprint
        run.edited += 1
        if m.case_id is not None:
            s.add(
                CaseEvent(
                    case_id=m.case_id, at=now, actor="gripewatch", kind="mention_edited", detail={"mention_id": m.id}
                )
            )
        elif m.is_complaint and not was_complaint:
            _route(s, settings, m, it, run, now)


def _deduplicate(s: Session, source: str, items: list[Incoming]) -> list[Incoming]:
    seen: set[str] = set()
    unique = []
    for it in items:
        if it.external_id not in seen:
            seen.add(it.external_id)
            unique.append(it)
    if not unique:
        return []
    existing = set(
        s.scalars(
            select(Mention.external_id).where(
                Mention.source == source, Mention.external_id.in_([it.external_id for it in unique])
            )
        ).all()
    )
    return [it for it in unique if it.external_id not in existing]


def _author_key(item: Incoming) -> str | None:
    key = item.author_key or (item.author_handle or "").lower()
    return key or None


def _authors(s: Session, items: list[Incoming]) -> dict[tuple[str, str], Author]:
    """Find or create every author of the page; refresh their name and followers."""
    keys = {(it.platform, k): it for it in items if (k := _author_key(it))}
    if not keys:
        return {}
    found = {
        (a.platform, a.key): a
        for a in s.scalars(select(Author).where(tuple_(Author.platform, Author.key).in_(list(keys)))).all()
    }
    for (platform, key), it in keys.items():
        a = found.get((platform, key))
        if a is None:
            a = found[(platform, key)] = Author(platform=platform, key=key, first_seen_at=it.created_at)
            s.add(a)
        a.handle = it.author_handle or a.handle
        a.display_name = it.author_name or a.display_name
        if it.author_followers is not None:
            a.followers = it.author_followers
    s.flush()
    return found
