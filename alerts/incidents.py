"""Incidents: a brand's cases that share one problem, worked together.

An incident forms when ``incidents.min_cases`` different customers of a brand
post the same complaint (``alerts.copies``: the same fingerprint) within
``incidents.window_minutes``, or when ``gripewatch spikes`` finds a complaint
spike. It gets ONE Slack card (count, topics, sample quotes, a link to the
queue filtered to it), updated in place as it grows. Every member is still a
case -- owner, SLA clocks, suggested reply -- but while the incident is open
its new members get no card of their own unless they are critical, from a VIP,
or escalated (``needs_own_card``).

Actions on all members at once, from Slack, the CLI and the dashboard:
``act(session, settings, incident_id, action, actor, now, text=...)`` with
``acknowledge`` (every new member), ``update`` (a status update into every
member's thread and the incident's), ``resolve`` (every open member) and
``follow_up`` (every member's follow-up scheduled). Each is a CaseEvent on
every member and re-renders the card.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gripewatch.alerts import card, copies, memo, sla
from gripewatch.alerts.outbox import enqueue
from gripewatch.config import Settings
from gripewatch.errors import GripewatchError
from gripewatch.models import Author, Case, Incident, Mention, Outbox

OPEN = ("new", "acknowledged", "waiting", "escalated")
LIVE = ("open", "acknowledged")  # an incident still taking members
ACTIONS = ("acknowledge", "update", "resolve", "follow_up")
#: escalation triggers that always get a case its own card (as in ``alerts.cases.ESCALATE_TRIGGERS``)
URGENT_TRIGGERS = frozenset({"manager", "legal", "safety"})


class IncidentRefused(GripewatchError):
    """The incident action does not apply (no such incident, already resolved, no text, …)."""


def _urgent(case: Case) -> bool:
    a = case.author
    vip = a is not None and ((a.tier or "").lower() in ("vip", "gold") or (a.lifetime_value or 0) >= 10_000)
    return case.priority == "critical" or case.status == "escalated" or vip


def needs_own_card(case: Case, mention: Mention) -> bool:
    """A member that is posted anyway: critical, a VIP customer, or escalated."""
    a = case.author or mention.author
    vip = a is not None and ((a.tier or "").lower() in ("vip", "gold") or (a.lifetime_value or 0) >= 10_000)
    urgent = URGENT_TRIGGERS & set((mention.analysis or {}).get("escalation", []))
    return case.priority == "critical" or vip or bool(urgent) or case.status == "escalated"


def consider(session: Session, case: Case, mention: Mention, settings: Settings, now: datetime) -> Incident | None:
    """A case has just opened: join the brand's live incident for its problem, or form one with its peers."""
    cfg = settings.incidents
    if not cfg.enabled or case.brand is None:
        return None
    keys = [f"spike:{t}" for t in [*(mention.analysis or {}).get("topics", []), "*"]]
    if mention.fingerprint and copies.long_enough(mention.text):
        keys.insert(0, f"copy:{mention.fingerprint}")
    page = memo.current(session)
    if page is not None:  # the live incidents are read once per page
        found = [i for i in page.live_incidents(session, case.brand, LIVE) if i.key in keys and i.status in LIVE]
        live = found[0] if found else None
    else:
        live = session.scalars(
            select(Incident)
            .where(Incident.brand == case.brand, Incident.key.in_(keys), Incident.status.in_(LIVE))
            .order_by(Incident.id)
            .limit(1)
        ).first()
    if live is not None:
        _join(session, live, [case], now)
        render(session, live, settings, now)
        return live
    if not keys[0].startswith("copy:"):
        return None
    window = timedelta(minutes=cfg.window_minutes)
    fp = mention.fingerprint or ""
    if page is not None and not page.could_be_incident(case.brand, fp, mention.created_at, window, cfg.min_cases):
        return None
    same_text = select(Mention.case_id).where(
        Mention.brand == case.brand,
        Mention.fingerprint == mention.fingerprint,
        Mention.created_at >= mention.created_at - window,
        Mention.created_at <= mention.created_at + window,
    )
    peers = session.scalars(
        select(Case).where(Case.id.in_(same_text), Case.status.in_(OPEN), Case.incident_id.is_(None)).order_by(Case.id)
    ).all()
    if len({c.author_id or -c.id for c in peers}) < cfg.min_cases:
        return None
    return form(session, settings, case.brand, keys[0], mention.text[:200], list(peers), now)


def form(
    session: Session, settings: Settings, brand: str | None, key: str, title: str, members: list[Case], now: datetime
) -> Incident:
    """Open an incident of ``members`` and queue its card."""
    inc = Incident(brand=brand, key=key, title=title, status="open", opened_at=now, updated_at=now, detail={})
    session.add(inc)
    session.flush()
    if (page := memo.current(session)) is not None:
        page.add_incident(inc)
    _join(session, inc, members, now)
    # members whose card was queued but never tried: the incident card speaks for them instead
    ids = [c.id for c in members if not _urgent(c)]
    session.execute(
        delete(Outbox).where(
            Outbox.case_id.in_(ids), Outbox.sent_at.is_(None), Outbox.attempts == 0, Outbox.kind.in_(_WITHDRAWN)
        )
    )
    session.flush()
    render(session, inc, settings, now)
    return inc


_WITHDRAWN = ("new_case", "card_update")


def from_spike(
    session: Session, settings: Settings, brand: str, topic: str, case_ids: list[int], now: datetime
) -> Incident | None:
    """A complaint spike: its open cases form (or join) the brand's incident for that topic."""
    if not settings.incidents.enabled or not case_ids:
        return None
    members = session.scalars(
        select(Case).where(Case.id.in_(case_ids), Case.status.in_(OPEN), Case.incident_id.is_(None))
    ).all()
    key = f"spike:{topic}"
    live = session.scalars(
        select(Incident).where(Incident.brand == brand, Incident.key == key, Incident.status.in_(LIVE))
    ).first()
    if live is not None:
        _join(session, live, list(members), now)
        render(session, live, settings, now)
        return live
    if not members:
        return None
    what = "complaints" if topic == "*" else f"complaints about {topic}"
    return form(session, settings, brand, key, f"Spike of {what}", list(members), now)


def _join(session: Session, inc: Incident, members: list[Case], now: datetime) -> None:
    for c in members:
        if c.incident_id == inc.id:
            continue
        c.incident_id = inc.id
        card.event(session, c, "incident_joined", "gripewatch", now, incident_id=inc.id)
    since = [c.customer_since or c.opened_at for c in members]
    if since:
        inc.customer_since = min([*since, *([inc.customer_since] if inc.customer_since else [])])
    inc.updated_at = now
    session.flush()


def join(session: Session, settings: Settings, inc: Incident, cases: list[Case], now: datetime) -> None:
    """Add open ``cases`` to incident ``inc`` by hand (the dashboard's bulk selection) and update its card."""
    _join(session, inc, cases, now)
    render(session, inc, settings, now)


def members(session: Session, incident_id: int) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.incident_id == incident_id).order_by(Case.id)).all())


def has_card(session: Session, case: Case) -> bool:
    """Whether the case has (or is about to get) a Slack message of its own."""
    if case.slack_ts:
        return True
    first = select(Outbox.id).where(Outbox.case_id == case.id, Outbox.kind == "new_case").limit(1)
    return session.scalar(first) is not None


# ------------------------------------------------------------------ the card


def summary(session: Session, inc: Incident, settings: Settings, now: datetime) -> dict[str, Any]:
    """Everything the incident card shows, as plain data."""
    cases = members(session, inc.id)
    by_status: dict[str, int] = {}
    for c in cases:
        by_status[c.status] = by_status.get(c.status, 0) + 1
    rows = session.execute(
        select(Mention.text, Mention.analysis, Author.handle, Mention.author_id)
        .outerjoin(Author, Author.id == Mention.author_id)
        .where(Mention.case_id.in_([c.id for c in cases]) if cases else Mention.id < 0, Mention.is_own.is_(False))
        .order_by(Mention.id)
    ).all()
    topics: dict[str, int] = {}
    quotes: list[dict[str, str]] = []
    authors: set[Any] = set()
    for text, analysis, handle, author_id in rows:
        for t in (analysis or {}).get("topics", []):
            topics[t] = topics.get(t, 0) + 1
        if author_id not in authors and len(quotes) < 3:
            authors.add(author_id)
            quotes.append({"handle": handle or "?", "text": text[:280]})
    answered = sum(1 for c in cases if c.first_response_at is not None)
    base = (settings.digest.dashboard_url or "").rstrip("/")
    return {
        "incident_id": inc.id,
        "brand": inc.brand,
        "title": inc.title,
        "status": inc.status,
        "cases": len(cases),
        "by_status": by_status,
        "answered": answered,
        "topics": [t for t, _ in sorted(topics.items(), key=lambda kv: -kv[1])][:5],
        "quotes": quotes,
        "customer_since": (inc.customer_since or inc.opened_at).isoformat(),
        "opened_at": inc.opened_at.isoformat(),
        "queue_url": f"{base}/cases?status=all&incident={inc.id}" if base else None,
        "updates": list((inc.detail or {}).get("updates", []))[-3:],
        "actions": [] if inc.status == "resolved" else ["acknowledge", "resolve", "follow_up"],
    }


def render(session: Session, inc: Incident, settings: Settings, now: datetime) -> None:
    """Queue the incident's card: posted once, then updated in place (only the newest update is kept)."""
    session.flush()
    payload = summary(session, inc, settings, now)
    first = session.scalars(select(Outbox).where(Outbox.key == f"incident:{inc.id}")).first()
    if first is None:
        enqueue(session, f"incident:{inc.id}", "incident", settings.slack.channels.alerts, payload, None, now)
        return
    if first.sent_at is None:
        first.payload = payload  # not posted yet: post the current state
        return
    version = int((inc.detail or {}).get("version", 0)) + 1
    inc.detail = {**(inc.detail or {}), "version": version}
    session.execute(  # an older card update still waiting is superseded by this one
        update(Outbox)
        .where(Outbox.kind == "incident_update", Outbox.sent_at.is_(None), Outbox.key.like(f"incident:{inc.id}:v%"))
        .values(sent_at=now, result={"skipped": "superseded"})
    )
    enqueue(session, f"incident:{inc.id}:v{version}", "incident_update", inc.slack_channel or "", payload, None, now)


# ------------------------------------------------------------------ actions


def act(
    session: Session,
    settings: Settings,
    incident_id: int,
    action: str,
    actor: str,
    now: datetime,
    text: str = "",
) -> str:
    """Do ``action`` to every member of the incident as ``actor``; return what happened (one line)."""
    from gripewatch.alerts import actions

    if action not in ACTIONS:
        raise IncidentRefused(f"unknown incident action {action!r} (known: {', '.join(ACTIONS)})")
    inc = session.get(Incident, incident_id)
    if inc is None:
        raise IncidentRefused(f"no incident #{incident_id}")
    if inc.status == "resolved" and action != "follow_up":
        raise IncidentRefused(f"incident #{incident_id} is resolved")
    cases = [c for c in members(session, inc.id) if c.status != "closed"]
    done = 0
    if action == "acknowledge":
        for c in cases:
            if c.status == "new":
                c.status, c.acknowledged_at, c.updated_at = "acknowledged", now, now
                _refresh(session, c, settings, now, card.event(session, c, "acknowledged", actor, now, incident=inc.id))
                done += 1
        inc.status, inc.acknowledged_at = "acknowledged", inc.acknowledged_at or now
        msg = f"incident #{inc.id} acknowledged: {done} new case(s) acknowledged"
    elif action == "update":
        if not text.strip():
            raise IncidentRefused("a status update needs its text")
        for c in cases:
            if c.status in OPEN:
                ev = card.event(session, c, "incident_update", actor, now, incident=inc.id, text=text)
                if has_card(session, c):
                    card.note(session, c, f"incident-update:{inc.id}:{c.id}:{ev.id}", text, "Incident update", now)
                done += 1
        updates = [*(inc.detail or {}).get("updates", []), {"at": now.isoformat(), "actor": actor, "text": text}]
        inc.detail = {**(inc.detail or {}), "updates": updates}
        n = len(updates)
        payload = {"incident_id": inc.id, "title": f"Incident #{inc.id} update", "text": text}
        enqueue(session, f"incident:{inc.id}:note:{n}", "incident_note", inc.slack_channel or "", payload, None, now)
        msg = f"incident #{inc.id}: update posted to {done} case(s)"
    elif action == "resolve":
        for c in cases:
            if c.status in OPEN:
                actions.apply(session, settings, c.id, "resolve", actor, now)
                done += 1
        inc.status, inc.resolved_at = "resolved", now
        msg = f"incident #{inc.id} resolved: {done} case(s) resolved"
    else:
        at = now + timedelta(days=settings.cases.follow_up_days)
        for c in cases:
            schedule_follow_up(c, settings, at)
            card.event(session, c, "follow_up_scheduled", actor, now, incident=inc.id, at=at.isoformat())
            done += 1
        msg = f"incident #{inc.id}: follow-up scheduled for {done} case(s) at {at:%Y-%m-%d %H:%M} UTC"
    inc.updated_at = now
    inc.detail = {**(inc.detail or {}), "last_action": {"action": action, "actor": actor, "at": now.isoformat()}}
    render(session, inc, settings, now)
    return msg


def _refresh(session: Session, case: Case, settings: Settings, now: datetime, ev: card.CaseEvent) -> None:
    if has_card(session, case):
        card.refresh(session, case, settings, now, ev)


def schedule_follow_up(case: Case, settings: Settings, at: datetime) -> None:
    """The owner is asked in the case's thread (or by the queue) to check in with the customer at ``at``."""
    data = {k: dict(v) for k, v in (case.sla or {}).items()}
    data["follow_up"] = {"at": at.isoformat(), "sent": False}
    case.sla = data
    sla.schedule(case, settings)


def listing(session: Session, status: str = "live") -> list[dict[str, Any]]:
    """Incidents, newest first, with their member counts (``live`` = open or acknowledged)."""
    q = select(Incident).order_by(Incident.id.desc())
    if status == "live":
        q = q.where(Incident.status.in_(LIVE))
    elif status != "all":
        q = q.where(Incident.status == status)
    counts = dict(
        session.execute(
            select(Case.incident_id, func.count(Case.id))
            .where(Case.incident_id.is_not(None))
            .group_by(Case.incident_id)
        ).all()
    )
    return [
        {
            "id": i.id,
            "brand": i.brand,
            "status": i.status,
            "title": i.title,
            "cases": counts.get(i.id, 0),
            "opened_at": i.opened_at.isoformat(),
            "customer_since": (i.customer_since or i.opened_at).isoformat(),
        }
        for i in session.scalars(q).all()
    ]
