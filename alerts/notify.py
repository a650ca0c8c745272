"""The notifier interface: ``Notifier.send(alert) -> Delivery``.

An :class:`Alert` is one outbox row on its way out. ``send`` delivers it once
and returns where it landed (channel and message id, so later alerts of the
same case can go into its thread). It raises
:class:`~gripewatch.errors.NotifyError` when delivery failed; ``retryable``
says whether the outbox should try again (after ``retry_after`` seconds when
the service said so). ``alert.in_doubt`` is true when an earlier attempt may
have been delivered before the process died: a notifier that can look its past
messages up should do so instead of sending twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Alert:
    key: str  # idempotency key, unique per alert
    kind: str  # new_case | case_update | ops
    channel: str
    payload: dict[str, Any]
    case_id: int | None = None
    thread_ts: str | None = None  # the case's first message, for updates
    in_doubt: bool = False


@dataclass(frozen=True)
class Delivery:
    channel: str
    ts: str | None = None


class Notifier(Protocol):
    def send(self, alert: Alert) -> Delivery:
        """Deliver ``alert`` once; raise NotifyError if it was not delivered."""
        ...
