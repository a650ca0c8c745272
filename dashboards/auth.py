"""Dashboard authentication: scrypt password hashes, users from config, CSRF tokens.

Hashes look like ``scrypt$16384$8$1$<salt b64>$<hash b64>`` (stdlib
``hashlib.scrypt``); verification is constant-time. CSRF tokens are random per
session and compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from gripewatch.config import DashboardConfig, DashboardUser

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(want)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY = hash_password(secrets.token_hex(8))


def authenticate(cfg: DashboardConfig, username: str, password: str) -> DashboardUser | None:
    """The user if ``username``/``password`` match a configured user (same work either way)."""
    user = next((u for u in cfg.users if u.username == username), None)
    stored = user.password_hash.get_secret_value() if user and user.password_hash else _DUMMY
    ok = verify_password(password, stored)
    return user if ok and user is not None and user.password_hash is not None else None


def header_user(cfg: DashboardConfig, value: str | None) -> DashboardUser | None:
    """The user named by the trusted reverse-proxy header (must be in ``users`` when users are listed)."""
    if not value:
        return None
    value = value.strip()
    if not cfg.users:
        return (
            DashboardUser(username=value)
            if value.replace("@", "").replace(".", "").replace("-", "").replace("_", "").isalnum()
            else None
        )
    return next((u for u in cfg.users if u.username == value), None)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given and hmac.compare_digest(expected.encode(), given.encode()))
