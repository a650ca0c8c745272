"""Dashboard authentication: password hashes, the secret key's strength, login throttling,
one-time login-form tokens, client addresses behind proxies and the trusted user header.

New hashes are argon2id (argon2-cffi, ``$argon2id$v=19$m=…``); older
``scrypt$16384$8$1$<salt b64>$<hash b64>`` hashes (stdlib ``hashlib.scrypt``) still verify.
Verification is constant-time and costs the same for unknown users.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections import OrderedDict, deque
from datetime import datetime, timedelta

from gripewatch.config import DashboardConfig, DashboardUser

log = logging.getLogger(__name__)

MIN_SECRET_KEY = 32
# Keys that were ever shown in documentation or examples: refused whatever their length.
PLACEHOLDER_KEYS = frozenset(
    {"change-me-to-32-random-characters", "changeme", "change-me", "secret", "your-secret-key", "test-secret-key"}
)
GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def check_secret_key(cfg: DashboardConfig) -> str | None:
    """Why ``dashboard.secret_key`` cannot sign sessions, or None when it can. Never quotes the key."""
    if cfg.secret_key is None or not cfg.secret_key.get_secret_value():
        return "not set: give it 32+ random characters from an environment variable (${DASHBOARD_SECRET_KEY})"
    key = cfg.secret_key.get_secret_value()
    low = key.lower()
    if low in PLACEHOLDER_KEYS or "change-me" in low or "changeme" in low or len(set(key)) < 8:
        return f"is a documented placeholder or has almost no variety; generate a key: {GENERATE}"
    if len(key) < MIN_SECRET_KEY:
        return f"is {len(key)} characters; it needs at least {MIN_SECRET_KEY} random characters"
    return None


# ---------------------------------------------------------------- password hashes

_N, _R, _P = 2**14, 8, 1


@functools.cache
def _hasher():  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` for ``dashboard.users[].password_hash``."""
    return str(_hasher().hash(password))


def scrypt_hash(password: str) -> str:
    """The former hash format (kept so tests and old configs can make one)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    if stored.startswith("$argon2"):
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(_hasher().verify(stored, password))
        except (VerificationError, InvalidHashError, ValueError):
            return False
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


def needs_rehash(stored: str) -> bool:
    """True for a hash made with older settings or the old scrypt format."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return bool(_hasher().check_needs_rehash(stored))
    except ValueError:
        return True


@functools.cache
def _dummy() -> str:
    return hash_password(secrets.token_hex(8))


_rehash_told: set[str] = set()


def authenticate(cfg: DashboardConfig, username: str, password: str) -> DashboardUser | None:
    """The user if ``username``/``password`` match a configured user (same work either way).

    The hash lives in the configuration, which the dashboard cannot rewrite: a user signing in
    with an old-format hash is logged once, with the command that makes a new one.
    """
    user = next((u for u in cfg.users if u.username == username), None)
    stored = user.password_hash.get_secret_value() if user and user.password_hash else _dummy()
    ok = verify_password(password, stored)
    if not (ok and user is not None and user.password_hash is not None):
        return None
    if needs_rehash(stored) and user.username not in _rehash_told:
        _rehash_told.add(user.username)
        log.warning(
            "dashboard user %s signs in with an old password hash format; make an argon2 hash with "
            "`gripewatch dashboard --hash-password` and put it in dashboard.users",
            user.username,
        )
    return user


# ---------------------------------------------------------------- throttling


class LoginThrottle:
    """Failed sign-ins per key (``user:NAME``, ``addr:IP``) in a sliding window, in memory.

    After ``max_failures`` failures inside ``window`` a key is refused until its oldest failure
    leaves the window. One process keeps its own counts (the dashboard runs as one process).
    At most ``max_keys`` keys are remembered; the least recently failed are forgotten first.
    """

    def __init__(self, max_failures: int, window: timedelta, max_keys: int = 100_000) -> None:
        self.max_failures, self.window, self.max_keys = max_failures, window, max_keys
        self._fails: OrderedDict[str, deque[datetime]] = OrderedDict()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        q = self._fails.get(key)
        if q is None:
            return deque()
        while q and now - q[0] >= self.window:
            q.popleft()
        if not q:
            del self._fails[key]
        return q

    def retry_after(self, keys: list[str], now: datetime) -> int | None:
        """Seconds until every one of ``keys`` may try again, or None if none is locked."""
        wait = 0.0
        for k in keys:
            q = self._recent(k, now)
            if len(q) >= self.max_failures:
                wait = max(wait, (q[-self.max_failures] + self.window - now).total_seconds())
        return max(1, int(wait + 0.999)) if wait > 0 else None

    def failed(self, keys: list[str], now: datetime) -> list[str]:
        """Count one failure for each key; returns the keys this failure locked (to log once)."""
        locked = []
        for k in keys:
            q = self._recent(k, now)
            if not q:
                self._fails[k] = q
            q.append(now)
            self._fails.move_to_end(k)
            if len(q) == self.max_failures:
                locked.append(k)
        while len(self._fails) > self.max_keys:
            self._fails.popitem(last=False)
        return locked

    def succeeded(self, key: str) -> None:
        self._fails.pop(key, None)


class LoginTokens:
    """One-time tokens of the login form: each form gets a fresh one, each is taken once.

    The token also sits in the visitor's signed cookie; remembering used ones here means a
    replayed cookie with its token is refused too. Tokens older than ``max_age`` are refused.
    """

    def __init__(self, max_age: timedelta = timedelta(hours=1)) -> None:
        self.max_age = max_age
        self._used: OrderedDict[str, datetime] = OrderedDict()

    def new(self) -> str:
        return secrets.token_urlsafe(32)

    def take(self, expected: object, issued: object, given: str, now: datetime) -> bool:
        """True once for a form token ``given`` equal to the cookie's ``expected`` issued at ``issued``."""
        while self._used and now - next(iter(self._used.values())) > self.max_age:
            self._used.popitem(last=False)
        if not isinstance(expected, str) or not csrf_ok(expected, given) or expected in self._used:
            return False
        try:
            at = datetime.fromisoformat(str(issued))
        except ValueError:
            return False
        if not timedelta(0) <= now - at <= self.max_age:
            return False
        self._used[expected] = now
        return True


# ---------------------------------------------------------------- addresses and the trusted header

_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _networks(cfg: DashboardConfig) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in cfg.trusted_proxies)


def _in(addr: str | None, nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address((addr or "").strip())
    except ValueError:
        return False
    return any(ip in n for n in nets)


def is_loopback_host(host: str) -> bool:
    """True when binding ``host`` listens on this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip()).is_loopback
    except ValueError:
        return False


def trusts_peer(cfg: DashboardConfig, peer: str | None) -> bool:
    """May the peer that connected set the user header and X-Forwarded-For? Only a named proxy or,
    when none is named, a process on this machine."""
    return _in(peer, _networks(cfg) or _LOOPBACK)


def client_address(cfg: DashboardConfig, peer: str | None, forwarded_for: str | None) -> str:
    """The client's address: the peer, or behind ``trusted_proxies`` the nearest address in
    X-Forwarded-For that is not one of them."""
    nets = _networks(cfg)
    if not nets or not _in(peer, nets) or not forwarded_for:
        return peer or "unknown"
    for hop in reversed([h.strip() for h in forwarded_for.split(",")[-20:]]):
        if not _in(hop, nets):
            return hop[:64] if hop else peer or "unknown"
    return peer or "unknown"


def header_user(cfg: DashboardConfig, value: str | None) -> DashboardUser | None:
    """The configured user named by the trusted reverse-proxy header (header mode needs a user list)."""
    if not value:
        return None
    value = value.strip()
    return next((u for u in cfg.users if u.username == value), None)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given and hmac.compare_digest(expected.encode(), given.encode()))
