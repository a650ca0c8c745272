"""Slack pacing: at most ``rate`` messages per second per channel, short bursts allowed.

Slack takes about one message per second per channel (``chat.postMessage``,
"special" rate limit tier), with short bursts tolerated; beyond that it answers
429 with ``Retry-After``. A :class:`Pacer` is one token bucket per channel:
``burst`` tokens, refilled at ``rate`` per second. The outbox asks
:meth:`Pacer.wait` before each delivery and :meth:`Pacer.take` when it sends;
a 429 holds the whole channel for its ``Retry-After`` (:meth:`Pacer.hold`) --
the service's word wins over our arithmetic.

One pacer is shared per process and configuration (``shared``), so the
daemon's deliveries every few seconds and the Slack app's immediate ones count
against the same buckets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, max(1, burst), clock
        self._tokens: dict[str, float] = {}
        self._stamp: dict[str, float] = {}
        self._held: dict[str, float] = {}
        self._lock = threading.Lock()

    def _refill(self, channel: str, now: float) -> float:
        tokens = self._tokens.get(channel, float(self.burst))
        last = self._stamp.get(channel, now)
        tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate)
        self._tokens[channel], self._stamp[channel] = tokens, max(last, now)
        return tokens

    def wait(self, channel: str) -> float:
        """Seconds until ``channel`` may take another message (0: now)."""
        with self._lock:
            now = self.clock()
            tokens = self._refill(channel, now)
            held = max(0.0, self._held.get(channel, 0.0) - now)
            return max(held, 0.0 if tokens >= 1 else (1 - tokens) / self.rate)

    def take(self, channel: str) -> None:
        """One message is going to ``channel`` now."""
        with self._lock:
            tokens = self._refill(channel, self.clock())
            self._tokens[channel] = tokens - 1

    def hold(self, channel: str, seconds: float) -> None:
        """Slack said "retry after ``seconds``": nothing goes to ``channel`` before then, and no burst after."""
        with self._lock:
            now = self.clock()
            self._held[channel] = max(self._held.get(channel, 0.0), now + seconds)
            self._tokens[channel], self._stamp[channel] = 0.0, now + seconds


_SHARED: dict[tuple[float, int], Pacer] = {}
_SHARED_LOCK = threading.Lock()


def shared(rate: float, burst: int) -> Pacer:
    """The process's pacer for this configuration."""
    with _SHARED_LOCK:
        return _SHARED.setdefault((rate, burst), Pacer(rate, burst))
