"""Engines, sessions and migrations.

``open_database(url)`` returns a :class:`Database` whose schema is at the
newest migration (applied automatically on first use, under a lock so two
processes never migrate at once). SQLite runs in WAL mode with a busy timeout
(``database.busy_timeout_seconds``, 10 s): a write that waits longer for another process's lock raises
StorageError "database is locked by another process"; PostgreSQL uses a pre-pinged connection pool.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sqlite3
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from gripewatch.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_SECONDS = 10.0  # how long a SQLite write waits for another process's lock (database.busy_timeout_seconds)


class Database:
    """An engine and its session factory (built on first use: a Core-only read never imports the ORM)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions: sessionmaker[Session] | None = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            from sqlalchemy.orm import sessionmaker

            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        return self._sessions

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as s:
            yield s

    def dispose(self) -> None:
        self.engine.dispose()


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database url>"


def make_engine(
    url: str,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    pool_recycle: int = 1800,
    connect_timeout: int = 10,
    busy_timeout: float = SQLITE_BUSY_SECONDS,
) -> Engine:
    try:
        u = make_url(url)
    except ArgumentError:
        raise StorageError("database.url is not a valid SQLAlchemy URL") from None
    kwargs: dict[str, Any] = {}
    if u.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
        if u.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            pool_recycle=pool_recycle,
            pool_pre_ping=True,
        )
        if u.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": connect_timeout}
    try:
        engine = create_engine(u, **kwargs)
    except (NoSuchModuleError, ImportError) as e:
        raise StorageError(
            f"no driver for {safe_url(url)}: {e} (for PostgreSQL: pip install 'gripewatch[postgres]')"
        ) from None
    if engine.dialect.name == "sqlite":
        busy_ms = max(1, round(busy_timeout * 1000))
        event.listen(engine, "connect", lambda conn, _record: _sqlite_pragmas(conn, busy_ms))
        event.listen(engine, "handle_error", lambda ctx: _sqlite_locked(ctx, url, busy_timeout))
    return engine


def _sqlite_pragmas(dbapi_conn: Any, busy_ms: int) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={busy_ms}")  # first: WAL mode itself may wait for a lock
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_locked(ctx: Any, url: str, busy_timeout: float) -> None:
    """A SQLite write that waited the whole busy timeout for another process: one clear StorageError."""
    orig = ctx.original_exception
    if isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig).lower():
        raise StorageError(
            f"database is locked by another process (gave up after {busy_timeout:g} s): {safe_url(url)}"
        ) from None


def alembic_config(engine: Engine | None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([\w-]+|None)['\"]?", re.MULTILINE)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration, read from the version files (loading alembic costs more than the command).

    A test checks that alembic's own ScriptDirectory agrees.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for f in (MIGRATIONS / "versions").glob("*.py"):
        found: dict[str, str] = {m.group(1): m.group(2) for m in _REVISION.finditer(f.read_text("utf-8"))}
        if "revision" in found:
            revisions.add(found["revision"])
            if found.get("down_revision") not in (None, "None"):
                parents.add(found["down_revision"])
    heads = revisions - parents
    if len(heads) != 1:
        raise StorageError(f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}), not one")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the database (None for an empty one)."""
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError) as e:
            if _is_missing_table(e):
                return None
            raise


def _is_missing_table(e: SQLAlchemyError) -> bool:
    msg = str(getattr(e, "orig", e)).lower()
    return "no such table" in msg or "does not exist" in msg or "undefinedtable" in msg


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(740021)"))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(740021)"))
                conn.commit()
    elif engine.url.database and engine.url.database != ":memory:":
        with _lock_file(Path(f"{engine.url.database}.migrate-lock")):
            yield
    else:
        yield


@contextlib.contextmanager
def _lock_file(path: Path) -> Iterator[None]:
    """An exclusive flock on ``path``, beside the database; the file is removed when released.

    A waiter that locked a file someone has just removed sees that its inode is no longer the one at
    ``path`` and tries again, so removing the file never lets two processes in at once.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply pending migrations; return (revision before, revision after)."""
    try:
        before = current_revision(engine)
        head = head_revision()
        if before == head:
            return before, head
        with _migration_lock(engine):
            before = current_revision(engine)
            if before != head:
                from alembic import command

                command.upgrade(alembic_config(engine), "head")
        return before, head
    except OperationalError as e:
        raise StorageError(f"cannot reach the database {safe_url(str(engine.url))}: {_first_line(e)}") from None
    except SQLAlchemyError as e:
        raise StorageError(f"migrating {safe_url(str(engine.url))} failed: {_first_line(e)}") from None


def _first_line(e: Exception) -> str:
    orig = getattr(e, "orig", None) or e
    return str(orig).strip().splitlines()[0] if str(orig).strip() else e.__class__.__name__


def open_database(url: str, pool_size: int = 5, max_overflow: int = 10, migrate: bool = True, **pool: Any) -> Database:
    """Connect (and migrate) the database at ``url``; StorageError if it cannot be used."""
    u = make_url(url) if "://" in url else None
    if u is not None and u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        parent = Path(u.database).parent
        if not parent.exists():
            raise StorageError(f"folder {parent} for the SQLite database does not exist")
    engine = make_engine(url, pool_size, max_overflow, **pool)
    if migrate:
        upgrade(engine)
    return Database(engine)
