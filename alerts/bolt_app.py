"""The Slack app staff click in: a Bolt ``App`` whose buttons work cases.

``build_app`` wires the six case buttons (``gw_<action>``, value = case id) to
:func:`alerts.actions.apply`: the click is acknowledged at once, the case
changes in one transaction (with its audit event and the queued card update),
then the outbox is dispatched so the message is updated in place within a
second. A refused click (already resolved, at capacity, …) is answered with an
ephemeral message, also through the outbox. ``serve`` runs the app in Socket
Mode (``slack.app_token``; no public URL) or over HTTP at ``/slack/events``
(``slack.signing_secret`` verified by Bolt: a bad or stale signature gets 401).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from gripewatch.alerts import actions
from gripewatch.alerts.blocks import ACTION_PREFIX
from gripewatch.alerts.outbox import dispatch
from gripewatch.alerts.slack import SlackNotifier, check_channels
from gripewatch.config import Settings
from gripewatch.db import Database
from gripewatch.errors import ConfigError, LockBusy, NotifyError
from gripewatch.models import Case, utcnow
from gripewatch.runtime import leases

log = logging.getLogger(__name__)
_PATTERN = re.compile(f"^{ACTION_PREFIX}(" + "|".join(actions.ACTIONS) + ")$")


def build_app(
    settings: Settings,
    db: Database,
    client: WebClient | None = None,
    now: Callable[[], datetime] = utcnow,
    signing_secret: str | None = None,
) -> App:
    """A Bolt App handling the case buttons (``process_before_response`` so work finishes before the reply)."""
    s = settings.slack
    secret = signing_secret or (s.signing_secret.get_secret_value() if s.signing_secret else None)
    token = s.token.get_secret_value() if s.token else None
    if client is None:
        client = WebClient(token=token, base_url=s.base_url, timeout=int(s.timeout_seconds))
    app = App(
        client=client,
        signing_secret=secret or "unused-in-socket-mode",
        process_before_response=True,
        token_verification_enabled=False,
        logger=log,
    )
    notifier = SlackNotifier(client)

    @app.action(_PATTERN)
    def on_click(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        handle_click(db, settings, body, now())
        _deliver(db, settings, notifier, now)

    return app


def handle_click(db: Database, settings: Settings, body: dict[str, Any], at: datetime) -> actions.Outcome | None:
    """Apply one block_actions click; on refusal queue an ephemeral explanation instead."""
    act = (body.get("actions") or [{}])[0]
    action = str(act.get("action_id", "")).removeprefix(ACTION_PREFIX)
    user = (body.get("user") or {}).get("id") or "unknown"
    channel = (body.get("channel") or {}).get("id") or settings.slack.channels.alerts
    try:
        case_id = int(act.get("value", ""))
    except ValueError:
        log.warning("click without a case id: %r", act.get("value"))
        return None
    try:
        with db.sessions() as s, s.begin():
            out = actions.apply(s, settings, case_id, action, user, at)
        log.info("%s by %s: %s", action, user, out.message)
        return out
    except actions.ActionRefused as e:
        with db.sessions() as s, s.begin():
            case = s.get(Case, case_id)
            key = f"refused:{case_id}:{user}:{act.get('action_ts') or at.timestamp()}"
            actions.refuse(s, case, channel, user, f"Nothing changed: {e}", key, at)
        return None


def _deliver(db: Database, settings: Settings, notifier: SlackNotifier, now: Callable[[], datetime]) -> None:
    try:
        with leases.held(db.engine, "outbox", leases.holder_id(), settings.pipeline.lease_seconds, 5.0):
            dispatch(db.sessions, notifier, settings.outbox, now=now)
    except LockBusy:
        log.info("outbox busy: the running dispatcher will deliver the update")


def serve(settings: Settings, db: Database, http: bool = False, port: int = 3000) -> None:
    """Check the channels are private, then run the app until interrupted."""
    s = settings.slack
    if not (s.token and s.token.get_secret_value()):
        raise ConfigError(f"{settings.config_path}: slack.token: required for slack serve")
    if http and not (s.signing_secret and s.signing_secret.get_secret_value()):
        raise ConfigError(f"{settings.config_path}: slack.signing_secret: required for slack serve --http")
    if not http and not (s.app_token and s.app_token.get_secret_value()):
        raise ConfigError(f"{settings.config_path}: slack.app_token: required for Socket Mode (or use --http)")
    app = build_app(settings, db)
    with unreachable_as_error(s.base_url):
        check_channels(app.client, settings)
    if http:
        app.start(port=port, path="/slack/events")
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        with unreachable_as_error(s.base_url):  # start() connects first, then blocks
            SocketModeHandler(app, s.app_token.get_secret_value()).start()  # type: ignore[union-attr,no-untyped-call]


@contextlib.contextmanager
def unreachable_as_error(base_url: str) -> Iterator[None]:
    """A Slack that cannot be reached becomes one NotifyError naming where it was looked for (never a token)."""
    try:
        yield
    except (SlackClientError, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise NotifyError(f"Slack unreachable at {base_url}: {reason.__class__.__name__}: {reason}"[:300]) from None
