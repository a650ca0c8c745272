"""Named leases in the database: at most one holder at a time, released by expiry.

Two processes (replicas, or cron overlapping the daemon) never run the same
job at once: each job runs only while it holds its lease.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from gripewatch.errors import LockBusy
from gripewatch.models import Lease, utcnow


def holder_id() -> str:
    """Who we are, for humans reading ``gripewatch status``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def acquire(engine: Engine, name: str, holder: str, ttl: float, now: Callable[[], datetime] = utcnow) -> bool:
    """Take (or renew) the lease ``name`` for ``ttl`` seconds; False if someone else holds it."""
    t = now()
    until = t + timedelta(seconds=ttl)
    with engine.begin() as conn:
        res = conn.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < t))
            .values(holder=holder, expires_at=until)
        )
        if res.rowcount == 1:
            return True
        current = conn.execute(select(Lease.holder).where(Lease.name == name)).scalar()
        if current is not None and _dead_local(current):
            res = conn.execute(
                update(Lease).where(Lease.name == name, Lease.holder == current).values(holder=holder, expires_at=until)
            )
            if res.rowcount == 1:
                return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(Lease).values(name=name, holder=holder, expires_at=until))
        return True
    except IntegrityError:
        return False


def _dead_local(holder: str) -> bool:
    """True when ``holder`` was a process on this host that no longer exists (it was killed)."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def release(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


@contextmanager
def held(engine: Engine, name: str, holder: str, ttl: float, wait: float = 0.0) -> Iterator[None]:
    """Hold ``name`` for the block; wait up to ``wait`` seconds for it, else raise LockBusy."""
    deadline = time.monotonic() + wait
    while not acquire(engine, name, holder, ttl):
        if time.monotonic() >= deadline:
            raise LockBusy(f"{name} is being worked on by another gripewatch process")
        time.sleep(min(0.5, max(0.05, deadline - time.monotonic())))
    try:
        yield
    finally:
        release(engine, name, holder)
