"""Every exception gripewatch raises on purpose.

The library raises these; only the CLI turns them into messages and exit codes.

    GripewatchError
    ├── ConfigError            config file missing, malformed, wrong key/type, missing ${ENV}
    ├── StorageError           database unreachable or migration failed
    ├── SourceError            a collector could not fetch (after its retries)
    │   ├── RateLimited        the platform said 429; ``reset_at`` says until when
    │   └── MalformedPayload   an item could not be normalised (the batch goes on)
    ├── InputError             a file given on the command line cannot be read
    ├── NotifyError            an alert could not be delivered (it stays in the outbox)
    └── LockBusy               another process holds the lease for this job
"""

from __future__ import annotations

from datetime import datetime


class GripewatchError(Exception):
    """Base class of every error gripewatch raises deliberately."""


class ConfigError(GripewatchError):
    """The configuration is unusable. The message names the file and the key."""


class StorageError(GripewatchError):
    """The database could not be reached or migrated."""


class SourceError(GripewatchError):
    """A source failed to deliver mentions."""


class RateLimited(SourceError):
    """The platform refused with 429 until ``reset_at`` (UTC), if it said."""

    def __init__(self, message: str, reset_at: datetime | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class MalformedPayload(SourceError):
    """One item of a batch cannot be turned into a mention."""


class InputError(GripewatchError):
    """An input file cannot be read."""


class NotifyError(GripewatchError):
    """A notifier failed; ``retryable`` says whether trying later may help.

    ``config`` marks a refusal for a configuration reason (a public channel, a refused token, a bot
    not in the channel): the alerts reach nobody until an operator fixes the configuration, and
    ``run-once`` exits 2 saying so. ``halt`` means no other alert can be delivered either (the token or
    the channel check failed): the outbox stops this round instead of trying every row.
    """

    def __init__(
        self,
        message: str,
        retryable: bool = True,
        retry_after: float | None = None,
        config: bool = False,
        halt: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.config = config
        self.halt = halt


class LockBusy(GripewatchError):
    """Another process holds the lease for this job."""
