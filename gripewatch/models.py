"""Every table gripewatch stores, in one module.

    Author ─┬─< Mention >── Case ─< CaseEvent
            └─< Case ─< Outbox
    Incident ─< Case  a brand's cases sharing one problem (copies of one text, or a spike)
    SourceState   one row per configured source: cursor and health
    Lease         named locks with expiry (jobs, run-once, outbox)
    Feedback      staff corrections of the complaint model
    SpikeAlert    last complaint spike alerted per brand and topic (cooldown)
    JobRun        one row per run of a leased job (start, end, holder, outcome)
    Reply         an answer a staff member wrote, posted on the platform through the outbox
    DashboardSession  one signed-in dashboard browser (ended by logout, revoke, idle, expiry)
    RejectedRecord  quarantined records: could not be normalised or stored (``gripewatch rejected``)

All timestamps are stored as UTC and come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gripewatch.db.types import UTCDateTime
from gripewatch.statuses import OPEN_STATUSES as OPEN_STATUSES  # re-exported: a case is open in these


def utcnow() -> datetime:
    return datetime.now(UTC)


ID_MAX = 2**31 - 1  # the largest id our INTEGER id columns hold on PostgreSQL (int4; larger is "integer out of range")


def valid_id(n: int) -> bool:
    """Whether ``n`` can be a row id at all (a larger number is no row, not a database error)."""
    return 0 < n <= ID_MAX


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Author(Base):
    """A person (or account) on one platform."""

    __tablename__ = "authors"
    __table_args__ = (UniqueConstraint("platform", "key", name="uq_author_platform_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))  # platform user id, else lower-cased handle
    handle: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    followers: Mapped[int | None] = mapped_column(BigInteger)  # clamped to 64-bit at normalisation
    tier: Mapped[str | None] = mapped_column(String(32))
    lifetime_value: Mapped[float | None] = mapped_column(Float)
    customer_key: Mapped[str | None] = mapped_column(String(255), index=True)  # links identities
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Mention(Base):
    """One public post, with its raw payload, provenance and analysis."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_mention_source_external"),
        Index("ix_mentions_created_at", "created_at"),
        Index("ix_mentions_complaint_created", "is_complaint", "created_at"),
        Index("ix_mentions_source_created_at", "source", "created_at"),
        Index("ix_mentions_external_platform", "external_id", "platform"),  # the post a brand reply answers
        # the posts of cases, for the queue's topic/language/source filters; on SQLite the index also
        # holds ``analysis`` (PostgreSQL has no B-tree operator class for json) — migration 0012
        Index(
            "ix_mentions_case_facets",
            "case_id",
            "source",
            sqlite_where=text("case_id IS NOT NULL"),
            postgresql_where=text("case_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))  # configured source name
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    brand: Mapped[str | None] = mapped_column(String(128), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id"), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    collected_at: Mapped[datetime] = mapped_column(default=utcnow)
    conversation_id: Mapped[str | None] = mapped_column(String(255))
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    is_repost: Mapped[bool] = mapped_column(Boolean, default=False)
    is_own: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sentiment: Mapped[float | None] = mapped_column(Float)
    complaint_probability: Mapped[float | None] = mapped_column(Float)
    is_complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    severity: Mapped[str | None] = mapped_column(String(16))
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # topics, escalation, reasons, noise
    fingerprint: Mapped[str | None] = mapped_column(String(32), index=True)  # near-duplicate key
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    deleted_at: Mapped[datetime | None]  # deleted upstream: text and raw payload purged
    edited_at: Mapped[datetime | None]  # when a newer version replaced text and raw

    author: Mapped[Author | None] = relationship()


class Case(Base):
    """One customer problem, however many mentions it takes."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_opened", "status", "opened_at"),
        Index("ix_cases_opened_at", "opened_at"),
        Index("ix_cases_resolved_at", "resolved_at"),
        Index(  # every plain column the dashboard queue filters, counts and sorts by (migration 0012)
            "ix_cases_queue",
            "status",
            "priority",
            "assignee",
            "brand",
            "incident_id",
            "first_response_at",
            "backfill",
            "customer_since",
            "opened_at",
        ),
        Index("ix_cases_priority_status", "priority", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    brand: Mapped[str | None] = mapped_column(String(128), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default="new", index=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    priority_score: Mapped[float] = mapped_column(Float, default=0.0)
    severity: Mapped[str] = mapped_column(String(16), default="low")
    summary: Mapped[str] = mapped_column(Text, default="")
    assignee: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    mention_count: Mapped[int] = mapped_column(Integer, default=1)
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(64))
    priority_parts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # part -> points (shown)
    acknowledged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    sla: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # clock -> remind_at/due_at/reminded/breached
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)  # next SLA/follow-up/close check
    # the customer's clock: when they first posted (SLA clocks, waiting and the promised time count from here)
    customer_since: Mapped[datetime | None] = mapped_column(index=True)
    backfill: Mapped[bool] = mapped_column(Boolean, default=False)  # already old when collected: no own card
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)

    author: Mapped[Author | None] = relationship()
    mentions: Mapped[list[Mention]] = relationship(order_by="Mention.created_at")
    events: Mapped[list[CaseEvent]] = relationship(order_by="CaseEvent.id")


class Incident(Base):
    """A brand's cases that share one problem: one Slack card for all of them; each stays a case."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_brand_key_status", "brand", "key", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brand: Mapped[str | None] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(255))  # "copy:FINGERPRINT" or "spike:TOPIC"
    title: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(24), default="open")  # open | acknowledged | resolved
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    customer_since: Mapped[datetime | None]  # the earliest member's first post
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # updates posted, who acted


class CaseEvent(Base):
    """The audit trail: who did what to a case, and when."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # "gripewatch" or a staff id
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Outbox(Base):
    """An alert waiting to be delivered (written in the same transaction as its cause)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # idempotency key
    kind: Mapped[str] = mapped_column(String(32))  # new_case | case_update | ops
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    dead: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Reply(Base):
    """An answer written by a person, posted as the brand's account (through an outbox row ``reply:…``).

    ``status``: awaiting_approval (a sensitive case: a manager must approve) → queued → posted, or
    failed. ``external_id``/``url`` are the platform's, so the post, collected later, is known as this reply.
    """

    __tablename__ = "replies"
    __table_args__ = (Index("ix_replies_platform_external", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # idempotency key (also the outbox row's)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"))  # the post answered
    platform: Mapped[str] = mapped_column(String(32))
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # false: a private message
    text: Mapped[str] = mapped_column(Text)
    writer: Mapped[str] = mapped_column(String(64))  # the staff member's Slack id
    status: Mapped[str] = mapped_column(String(24), default="queued")
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the guard findings shown to the writer
    sent_anyway: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class SourceState(Base):
    """Per source: the durable cursor and its health."""

    __tablename__ = "source_state"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    rate_limited_until: Mapped[datetime | None]  # a 429 (or the budget) said: not before this
    budget_window_start: Mapped[datetime | None]  # the request budget's current 15-minute window
    budget_used: Mapped[int] = mapped_column(Integer, default=0)


class Lease(Base):
    """A named lock with an expiry; a holder that dies releases it by expiry."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class Feedback(Base):
    """A staff correction of the complaint decision on one mention."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id"), index=True)
    label: Mapped[int] = mapped_column(Integer)  # 1 complaint, 0 not
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SpikeAlert(Base):
    """The last spike alerted per brand and topic: the cooldown's memory."""

    __tablename__ = "spike_alerts"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)  # "brand|topic"
    alerted_at: Mapped[datetime]
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)


class JobRun(Base):
    """One run of a scheduled job (or a run-once step) while it held the job's lease.

    ``finished_at`` is empty while it runs, or forever if its process was killed.
    Runs of one job never overlap: each starts after the lease was taken and
    finishes before it is released.
    """

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(128))  # the lease name: source:NAME, outbox, sla, digest, retention
    holder: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(24))  # ok | error | rate_limited | db_down | interrupted
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DashboardSession(Base):
    """One signed-in dashboard browser. The cookie carries a random token; only its SHA-256 is
    stored (``id``), so a copy of this table signs nobody in. ``credential`` is a keyed digest of
    the user's password hash at sign-in: when the configured hash changes, the session ends.
    A session is active while ``revoked_at`` is empty, and ends for good when it is set."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(128), index=True)
    credential: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))  # logout | revoked | password | idle | expired


class RejectedRecord(Base):
    """A record of a source the pipeline could not take: unreadable, out of bounds, or refused by the database.

    Quarantined in the transaction of its page (the cursor moves past it). ``key`` tells
    sightings apart (the id and the payload): the same record seen again adds to ``count``.
    ``raw`` is the payload as JSON (ASCII), cut at ``gripewatch.quarantine.RAW_LIMIT``.
    """

    __tablename__ = "rejected"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_rejected_source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text, default="null")
    raw_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    count: Mapped[int] = mapped_column(Integer, default=1)
