"""Server-side dashboard sessions: sign-in makes one, logout, revocation, idleness and age end it.

The browser's cookie (signed by ``dashboard.secret_key``) carries a random token; the table
``dashboard_sessions`` keeps only the token's SHA-256, the user, when it began and was last
used, and when and why it ended. A session whose row is revoked, idle longer than
``dashboard.idle_minutes``, older than ``dashboard.session_hours`` or signed in with a password
hash that is no longer configured signs nobody in — a copied cookie stops working with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from gripewatch.config import DashboardConfig
from gripewatch.db import Database
from gripewatch.models import DashboardSession

TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often per session
KEEP_ENDED = timedelta(days=7)  # rows of sessions that can no longer be active are kept this long


def _sid(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def credential(cfg: DashboardConfig, username: str) -> str:
    """A keyed digest of ``username``'s configured password hash (empty in header mode)."""
    user = next((u for u in cfg.users if u.username == username), None)
    stored = user.password_hash.get_secret_value() if user and user.password_hash else ""
    key = cfg.secret_key.get_secret_value().encode() if cfg.secret_key else b""
    return hmac.new(key, f"credential|{username}|{stored}".encode(), hashlib.sha256).hexdigest()


def csrf_token(cfg: DashboardConfig, token: str) -> str:
    """The CSRF token of the session with cookie ``token``: one per session, derived, never stored."""
    key = cfg.secret_key.get_secret_value().encode() if cfg.secret_key else b""
    return hmac.new(key, f"csrf|{token}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ActiveSession:
    username: str
    created_at: datetime
    last_seen_at: datetime


def start(db: Database, cfg: DashboardConfig, username: str, now: datetime) -> str:
    """A new session of ``username``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    with db.session() as s:
        gone = now - timedelta(hours=cfg.session_hours) - KEEP_ENDED
        s.execute(delete(DashboardSession).where(DashboardSession.created_at < gone))  # none can be active
        s.add(
            DashboardSession(
                id=_sid(token), username=username, credential=credential(cfg, username),
                created_at=now, last_seen_at=now,
            )
        )  # fmt: skip
    return token


def user_of(db: Database, cfg: DashboardConfig, token: str | None, now: datetime) -> str | None:
    """The user signed in with ``token``, or None; ends (for good) a session found idle, too old or
    with a changed password."""
    if not token or not isinstance(token, str) or len(token) > 128:
        return None
    sid = _sid(token)
    with db.session() as s:
        row = s.get(DashboardSession, sid)
        if row is None or row.revoked_at is not None:
            return None
        reason = None
        if now - row.created_at > timedelta(hours=cfg.session_hours):
            reason = "expired"
        elif now - row.last_seen_at > timedelta(minutes=cfg.idle_minutes):
            reason = "idle"
        elif not any(u.username == row.username for u in cfg.users):
            reason = "unknown user"
        elif not hmac.compare_digest(row.credential, credential(cfg, row.username)):
            reason = "password"
        if reason is not None:
            row.revoked_at, row.revoked_reason = now, reason
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        return row.username


def end(db: Database, token: str | None, now: datetime, reason: str = "logout") -> None:
    """End the session with ``token`` (logout); nothing if there is none."""
    if not token or not isinstance(token, str):
        return
    with db.session() as s:
        s.execute(
            update(DashboardSession)
            .where(DashboardSession.id == _sid(token), DashboardSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )


def revoke_user(db: Database, cfg: DashboardConfig, username: str, now: datetime, reason: str = "revoked") -> int:
    """End every session of ``username``; returns how many were still active."""
    with db.session() as s:
        result = s.execute(
            update(DashboardSession)
            .where(*_active(cfg, now), DashboardSession.username == username)
            .values(revoked_at=now, revoked_reason=reason)
        )
        s.execute(
            update(DashboardSession)
            .where(DashboardSession.username == username, DashboardSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason="idle")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def active(db: Database, cfg: DashboardConfig, now: datetime) -> list[ActiveSession]:
    """Sessions not ended and neither idle nor too old at ``now``, oldest first."""
    with db.sessions() as s:
        rows = s.scalars(select(DashboardSession).where(*_active(cfg, now)).order_by(DashboardSession.created_at)).all()
        return [ActiveSession(r.username, r.created_at, r.last_seen_at) for r in rows]


def _active(cfg: DashboardConfig, now: datetime) -> tuple[Any, ...]:
    return (
        DashboardSession.revoked_at.is_(None),
        DashboardSession.created_at >= now - timedelta(hours=cfg.session_hours),
        DashboardSession.last_seen_at >= now - timedelta(minutes=cfg.idle_minutes),
    )
