"""Answering a case: a person writes the reply, gripewatch posts it as the brand through the outbox.

``submit`` (the Slack modal, ``gripewatch cases reply``, the dashboard) checks that replying is on
and possible on the case's platform, runs the guards (:mod:`alerts.guards`) and, when the writer
confirmed any warnings, stores a :class:`~gripewatch.models.Reply` and its outbox row
(``reply:…``) in the caller's transaction — or, on a sensitive case, waits for a manager's
``approve``. ``deliver_replies`` posts due rows with the platform's real client
(:mod:`collectors.posting`): the attempt is committed before posting, so a row found with an
earlier attempt is *in doubt* and looked up on the platform before it is posted again; the post
is recorded (first response at the moment of posting, text, writer, platform id and link) and
the card update queued in one transaction. ``recognise`` tells the pipeline that a collected
post is one of these replies (matched by the platform id), so it is not counted again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.alerts import card, sla
from gripewatch.alerts.guards import DEFAULT_PATTERNS, Draft, Verdict, check, refusal
from gripewatch.alerts.outbox import enqueue
from gripewatch.alerts.reply import first_response_p90
from gripewatch.collectors.posting import PRIVATE, Outgoing, Posted, Poster, can_reply, poster_for
from gripewatch.config import Settings
from gripewatch.db import Database
from gripewatch.errors import LockBusy, NotifyError, ReplyRefused
from gripewatch.models import Case, Mention, Outbox, Reply, utcnow, valid_id
from gripewatch.runtime import leases

log = logging.getLogger(__name__)
KIND = "reply"  # the outbox rows this module delivers (the Slack dispatcher leaves them alone)


@dataclass(frozen=True)
class Submitted:
    reply_id: int
    status: str  # queued | awaiting_approval
    message: str


def sensitive(session: Session, case: Case, settings: Settings) -> bool:
    """Does a reply on this case need a manager's approval (``reply.needs_approval``)?"""
    need = set(settings.reply.needs_approval)
    if case.status in need:
        return True
    m = card.lead_mention(session, case)
    return bool(need & set(((m.analysis or {}) if m else {}).get("escalation", [])))


def guard(session: Session, settings: Settings, case: Case, text: str, public: bool, now: datetime) -> Verdict:
    """The guards' verdict on ``text`` as a reply to ``case``."""
    p90 = first_response_p90(
        session, case.priority, now, settings.cases.p90_window_days, settings.cases.p90_min_samples
    )
    name = case.author.display_name if case.author else None
    patterns = settings.reply.privacy_patterns if settings.reply.privacy_patterns is not None else DEFAULT_PATTERNS
    wh = settings.cases.working_hours
    local = now.astimezone(ZoneInfo(wh.tz if wh else settings.digest.timezone))  # "today" is the team's day
    return check(Draft(text, public, case.priority, p90, local, name, patterns))


def submit(
    session: Session,
    settings: Settings,
    case_id: int,
    text: str,
    writer: str,
    public: bool,
    send_anyway: bool,
    now: datetime,
) -> Submitted:
    """Queue ``writer``'s reply on case ``case_id``; raise ReplyRefused (nothing stored) if it cannot go."""
    if not settings.reply.enabled:
        raise ReplyRefused("replying from gripewatch is off (reply.enabled is false): nothing was posted")
    staff = {s.slack_id: s for s in settings.staff}
    if writer not in staff:
        raise ReplyRefused(f"{writer} is not in the staff roster: only staff members reply")
    case = session.get(Case, case_id) if valid_id(case_id) else None
    if case is None:
        raise ReplyRefused(f"no case #{case_id}")
    if case.status == "closed":
        raise ReplyRefused(f"case #{case_id} is closed")
    text = text.strip()
    if not text:
        raise ReplyRefused("the reply is empty")
    m = card.lead_mention(session, case)
    if m is None:
        raise ReplyRefused(f"case #{case_id} has no post to answer")
    why = can_reply(settings.reply).get(m.platform, f"gripewatch cannot post on {m.platform}")
    if why:
        raise ReplyRefused(f"cannot reply on {m.platform}: {why}")
    if not public and not PRIVATE[m.platform]:
        raise ReplyRefused(f"{m.platform} has no private messages: reply publicly")
    verdict = guard(session, settings, case, text, public, now)
    if verdict.refused:
        private = " Choose a private message instead." if PRIVATE[m.platform] else " Take the detail out."
        raise ReplyRefused(refusal(verdict.refused) + private, verdict)
    if verdict.warnings and not send_anyway:
        raise ReplyRefused(verdict.warnings[0].message, verdict, confirmable=True)
    # The key comes from the content: the same reply submitted twice (a double click) is posted once.
    key = f"reply:{case.id}:{hashlib.sha256(f'{public}|{text}'.encode()).hexdigest()[:16]}"
    earlier = session.scalars(select(Reply).where(Reply.key == key)).first()
    if earlier is not None:
        raise ReplyRefused(f"this reply was already sent on case #{case.id} ({earlier.status.replace('_', ' ')})")
    needs = sensitive(session, case, settings) and staff[writer].role != "manager"
    reply = Reply(
        key=key,
        case_id=case.id,
        mention_id=m.id,
        platform=m.platform,
        public=public,
        text=text,
        writer=writer,
        status="awaiting_approval" if needs else "queued",
        warnings=[{"kind": w.kind, "phrase": w.phrase, "message": w.message} for w in verdict.warnings],
        sent_anyway=bool(verdict.warnings),
        approved_by=None if needs else (writer if staff[writer].role == "manager" else None),
        created_at=now,
    )
    session.add(reply)
    session.flush()
    detail = {"reply_id": reply.id, "public": public, "sent_anyway": reply.sent_anyway, "warnings": reply.warnings}
    ev = card.event(session, case, "reply_written", writer, now, **detail)
    if needs:
        card.escalation_post(
            session,
            case,
            settings,
            f"approve:{reply.key}",
            f"{card.who(writer)} wrote a reply on sensitive case #{case.id}: a manager's Approve sends it.",
            at=now,
        )
        card.refresh(session, case, settings, now, ev)
        return Submitted(reply.id, reply.status, f"reply on case #{case.id} waits for a manager's approval")
    enqueue(session, reply.key, KIND, m.platform, {"reply_id": reply.id}, case, now)
    card.refresh(session, case, settings, now, ev)
    return Submitted(reply.id, reply.status, f"reply on case #{case.id} is being posted on {m.platform}")


def approve(session: Session, settings: Settings, reply_id: int, approver: str, now: datetime) -> Submitted:
    """A manager approves a reply waiting on a sensitive case: it is queued for posting."""
    if not any(s.slack_id == approver and s.role == "manager" for s in settings.staff):
        raise ReplyRefused("only a manager (staff role manager) approves replies on sensitive cases")
    reply = session.get(Reply, reply_id) if valid_id(reply_id) else None
    if reply is None or reply.status != "awaiting_approval":
        raise ReplyRefused(f"no reply #{reply_id} is waiting for approval")
    case = session.get(Case, reply.case_id)
    assert case is not None
    reply.status, reply.approved_by = "queued", approver
    ev = card.event(session, case, "reply_approved", approver, now, reply_id=reply.id)
    enqueue(session, reply.key, KIND, reply.platform, {"reply_id": reply.id}, case, now)
    card.refresh(session, case, settings, now, ev)
    return Submitted(reply.id, reply.status, f"reply on case #{case.id} approved: it is being posted")


def pending_approval(session: Session, case_id: int) -> Reply | None:
    return session.scalars(
        select(Reply).where(Reply.case_id == case_id, Reply.status == "awaiting_approval").order_by(Reply.id)
    ).first()


def recognise(session: Session, m: Mention) -> bool:
    """Is the collected post ``m`` a reply gripewatch posted? Then it joins its case, counted once."""
    reply = session.scalars(
        select(Reply).where(Reply.platform == m.platform, Reply.external_id == m.external_id)
    ).first()
    if reply is None:
        return False
    m.case_id, m.is_own, m.is_complaint = reply.case_id, True, False
    return True


# ---------------------------------------------------------------- delivery


def post_now(db: Database, settings: Settings, now: Callable[[], datetime] = utcnow) -> int:
    """Post due replies at once under the outbox lease (a running dispatcher holding it posts them)."""
    try:
        with leases.held(db.engine, "outbox", leases.holder_id(), settings.pipeline.lease_seconds, 5.0):
            return deliver_replies(db.sessions, settings, now=now)
    except LockBusy:
        log.info("outbox busy: the running dispatcher posts the reply")
        return 0


def deliver_replies(
    sessions: Callable[[], Session],
    settings: Settings,
    now: Callable[[], datetime] = utcnow,
    posters: dict[str, Poster] | None = None,
) -> int:
    """Post every due reply row; return how many were posted (failures back off, as alerts do)."""
    posters = dict(posters or {})
    with sessions() as s:
        ids = s.scalars(
            select(Outbox.id)
            .where(Outbox.kind == KIND, Outbox.sent_at.is_(None), Outbox.dead.is_(False))
            .order_by(Outbox.id)
        ).all()
    return sum(_deliver_one(sessions, settings, now, posters, row_id) for row_id in ids)


def _deliver_one(
    sessions: Callable[[], Session],
    settings: Settings,
    now: Callable[[], datetime],
    posters: dict[str, Poster],
    row_id: int,
) -> bool:
    with sessions() as s, s.begin():
        row = s.get(Outbox, row_id, with_for_update=s.get_bind().dialect.name == "postgresql")
        if row is None or row.sent_at is not None or row.dead or row.next_attempt_at > now():
            return False
        reply = s.get(Reply, row.payload["reply_id"])
        mention = s.get(Mention, reply.mention_id) if reply and reply.mention_id else None
        if reply is None or mention is None:
            row.dead, row.last_error = True, "the reply or the post it answers is gone"
            return False
        in_doubt = row.attempts > 0
        row.attempts += 1
        a = mention.author
        out = Outgoing(
            key=reply.key,
            text=reply.text,
            public=reply.public,
            in_reply_to=mention.external_id,
            author_key=a.key if a else None,
            author_handle=a.handle if a else None,
            raw=dict(mention.raw or {}),
        )
        platform = reply.platform
    # The attempt is committed before posting: if we die mid-post, the next attempt looks first.
    try:
        poster = posters.get(platform) or posters.setdefault(platform, poster_for(platform, settings.reply))
        found = poster.find(out) if in_doubt else None
        posted = found or poster.post(out)
    except NotifyError as e:
        _failed(sessions, settings, row_id, e, now())
        return False
    _record(sessions, settings, row_id, posted, now(), found is not None)
    return True


def _record(
    sessions: Callable[[], Session], settings: Settings, row_id: int, posted: Posted, at: datetime, found: bool
) -> None:
    with sessions() as s, s.begin():
        row = s.get(Outbox, row_id)
        assert row is not None
        reply = s.get(Reply, row.payload["reply_id"])
        case = s.get(Case, row.case_id) if row.case_id else None
        assert reply is not None and case is not None
        row.sent_at, row.result = at, {"id": posted.external_id, "url": posted.url, "found": found}
        reply.status, reply.posted_at, reply.external_id, reply.url = "posted", at, posted.external_id, posted.url
        first = case.first_response_at is None
        if first:
            case.first_response_at = at
            sla.stop(case, "first_response", settings)
        if case.status in ("new", "acknowledged"):
            case.status = "waiting"
        case.updated_at = at
        ev = card.event(
            s,
            case,
            "reply_posted",
            reply.writer,
            at,
            reply_id=reply.id,
            platform=reply.platform,
            external_id=posted.external_id,
            url=posted.url,
            public=reply.public,
            text=reply.text,
            first_response=first,
        )
        card.refresh(s, case, settings, at, ev)


def _failed(sessions: Callable[[], Session], settings: Settings, row_id: int, e: NotifyError, at: datetime) -> None:
    cfg = settings.outbox
    with sessions() as s, s.begin():
        row = s.get(Outbox, row_id)
        assert row is not None
        row.last_error = str(e)[:500]
        delay = e.retry_after if e.retry_after is not None else cfg.backoff_seconds * 2 ** (row.attempts - 1)
        row.next_attempt_at = at + timedelta(seconds=min(delay, cfg.max_backoff_seconds))
        if e.retryable and row.attempts < cfg.max_attempts:
            log.warning("reply outbox #%s failed (attempt %d): %s", row_id, row.attempts, e)
            return
        row.dead = True
        reply = s.get(Reply, row.payload["reply_id"])
        case = s.get(Case, row.case_id) if row.case_id else None
        if reply is not None and case is not None:
            reply.status, reply.error = "failed", str(e)[:500]
            ev = card.event(s, case, "reply_failed", "gripewatch", at, reply_id=reply.id, error=reply.error)
            card.note(
                s,
                case,
                f"reply-failed:{reply.key}",
                f"{card.who(reply.writer)} your reply on case #{case.id} was not posted: {reply.error}",
                "Reply not posted",
                at,
            )
            card.refresh(s, case, settings, at, ev)
        log.error("reply outbox #%s given up after %d attempts: %s", row_id, row.attempts, e)


def describe(verdict: Any) -> list[str]:
    """The guards' findings as lines for a person (CLI, dashboard)."""
    if verdict is None:
        return []
    lines = [f.message for f in verdict.refused]
    for w in verdict.warnings:
        lines.append(w.message + (f" Suggested: “{w.suggestion}”" if w.suggestion else ""))
    return lines
