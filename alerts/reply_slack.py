"""The Reply button, its modal and the manager's Approve, in the Slack app.

**Reply** (``gw_reply``) opens a modal (``views.open``) with the suggested reply prefilled and
editable and, where the platform has private messages, a choice public/private. Its submission
(``view_submission``, callback ``gw_reply_modal``) runs :func:`alerts.answer.submit`: the guards'
refusals and warnings come back into the modal (``response_action: errors``) with the measured
figure and a suggested wording; ticking "Send anyway" posts it as written (recorded on the case).
**Approve reply** (``gw_approve``) lets a manager send a reply waiting on a sensitive case.
Customer text enters the modal through :func:`slack_text` only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from gripewatch.alerts import actions, answer, blocks, card, mrkdwn
from gripewatch.collectors.posting import PRIVATE, can_reply
from gripewatch.config import Settings
from gripewatch.db import Database
from gripewatch.errors import ReplyRefused
from gripewatch.models import Case, valid_id

log = logging.getLogger(__name__)
CALLBACK = "gw_reply_modal"


def slack_text(s: str) -> str:
    """Customer text as it may appear in the modal's mrkdwn (the single place it is escaped)."""
    return mrkdwn.escape(s)


def modal(p: dict[str, Any], channel: str) -> dict[str, Any]:
    """The reply modal for a case's card payload ``p`` (pure)."""
    a = p.get("author") or {}
    platform = p.get("platform") or "?"
    handle, said = (slack_text(t) for t in (a.get("handle") or "?", (p.get("text") or "")[:1500]))
    head = f"@{handle} on {platform}:\n" + "\n".join("> " + line for line in said.splitlines() or [""])
    p90 = p.get("measured_p90_minutes")
    measured = (
        f"{p.get('priority')} cases get a first response within {answer_promise(p90)} (p90, measured)"
        if p90
        else "too few answered cases to promise a time"
    )
    view_blocks: list[dict[str, Any]] = [
        mrkdwn.section(f"*Case #{p['case_id']}* · {head}"),
        {
            "type": "input",
            "block_id": "reply_text",
            "label": {"type": "plain_text", "text": "Your reply"},
            "element": {
                "type": "plain_text_input",
                "action_id": "text",
                "multiline": True,
                "initial_value": p.get("suggested_reply", ""),
            },
        },
    ]
    if PRIVATE.get(platform):
        options = [_option("public", "Public reply to the post"), _option("private", "Private message")]
        view_blocks.append(
            {
                "type": "input",
                "block_id": "reply_where",
                "label": {"type": "plain_text", "text": "Where"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": "where",
                    "options": options,
                    "initial_option": options[0],
                },
            }
        )
    view_blocks += [
        {
            "type": "input",
            "block_id": "reply_confirm",
            "optional": True,
            "label": {"type": "plain_text", "text": "Warnings"},
            "element": {
                "type": "checkboxes",
                "action_id": "confirm",
                "options": [_option("send_anyway", "Send anyway, despite the promise warnings")],
            },
        },
        {
            "type": "context",
            "elements": [
                mrkdwn.element(f"Posted as the brand's account, in your name, when you press Post. {measured}.")
            ],
        },
    ]
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "private_metadata": json.dumps({"case_id": p["case_id"], "channel": channel}),
        "title": {"type": "plain_text", "text": f"Reply · case #{p['case_id']}"[:24]},
        "submit": {"type": "plain_text", "text": "Post reply"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": view_blocks,
    }


def answer_promise(minutes: float) -> str:
    from datetime import timedelta

    from gripewatch.alerts.reply import promise

    return promise(timedelta(minutes=minutes)).removeprefix("within ")


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def errors_for(e: ReplyRefused, has_private: bool) -> dict[str, str]:
    """What the modal shows next to its fields for a refused submission."""
    v = e.verdict
    if v is not None and v.refused:  # type: ignore[attr-defined]
        out = {"reply_text": str(e)}
        if has_private:
            out["reply_where"] = "Choose “Private message”: customer details never go in a public reply."
        return out
    if v is not None and e.confirmable:
        lines = [w.message + (f" Suggested: “{w.suggestion}”" if w.suggestion else "") for w in v.warnings]  # type: ignore[attr-defined]
        return {"reply_text": " ".join(lines)[:1900], "reply_confirm": "Tick “Send anyway” to post it as written."}
    return {"reply_text": str(e)}


def submission(body: dict[str, Any]) -> tuple[int, str, str, bool, bool]:
    """(case id, channel, text, public, send anyway) of a ``view_submission``."""
    view = body.get("view") or {}
    meta = json.loads(view.get("private_metadata") or "{}")
    values = (view.get("state") or {}).get("values") or {}
    text = ((values.get("reply_text") or {}).get("text") or {}).get("value") or ""
    where = (((values.get("reply_where") or {}).get("where") or {}).get("selected_option") or {}).get("value")
    ticked = ((values.get("reply_confirm") or {}).get("confirm") or {}).get("selected_options") or []
    anyway = any(o.get("value") == "send_anyway" for o in ticked)
    return int(meta.get("case_id", 0)), str(meta.get("channel") or ""), text, where != "private", anyway


def register(
    app: App, settings: Settings, db: Database, deliver: Callable[[], None], now: Callable[[], datetime]
) -> None:
    """Wire Reply, its modal and Approve into ``app``; ``deliver`` sends what the outbox holds."""

    def refuse(case_id: int, channel: str, user: str, text: str, at: datetime, ts: str) -> None:
        with db.sessions() as s, s.begin():
            actions.refuse(
                s,
                s.get(Case, case_id) if valid_id(case_id) else None,
                channel,
                user,
                text,
                f"refused:{case_id}:{user}:{ts}",
                at,
            )
        deliver()

    @app.action(f"{blocks.ACTION_PREFIX}reply")
    def on_reply(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        act = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id") or "unknown"
        channel = (body.get("channel") or {}).get("id") or settings.slack.channels.alerts
        case_id, at = int(act.get("value") or 0), now()
        with db.sessions() as s:
            case = s.get(Case, case_id) if valid_id(case_id) else None
            p = card.card_payload(s, case, settings, at) if case is not None else None
        why = "replying is off (reply.enabled is false)" if not settings.reply.enabled else None
        if p is not None and why is None:
            why = can_reply(settings.reply).get(p.get("platform") or "", "gripewatch cannot post on this platform")
        if p is None or why:
            refuse(case_id, channel, user, f"Nothing posted: {why or 'no such case'}", at, act.get("action_ts") or "")
            return
        client.views_open(trigger_id=body["trigger_id"], view=modal(p, channel))

    @app.view(CALLBACK)
    def on_submit(ack: Ack, body: dict[str, Any]) -> None:
        case_id, _channel, text, public, anyway = submission(body)
        user = (body.get("user") or {}).get("id") or "unknown"
        has_private = "reply_where" in (((body.get("view") or {}).get("state") or {}).get("values") or {})
        try:
            with db.sessions() as s, s.begin():
                out = answer.submit(s, settings, case_id, text, user, public, anyway, now())
        except ReplyRefused as e:
            ack(response_action="errors", errors=errors_for(e, has_private))
            return
        ack()
        log.info("reply by %s: %s", user, out.message)
        answer.post_now(db, settings, now)
        deliver()

    @app.action(f"{blocks.ACTION_PREFIX}approve")
    def on_approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        act = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id") or "unknown"
        channel = (body.get("channel") or {}).get("id") or settings.slack.channels.alerts
        case_id, at = int(act.get("value") or 0), now()
        try:
            with db.sessions() as s, s.begin():
                waiting = answer.pending_approval(s, case_id)
                if waiting is None:
                    raise ReplyRefused(f"no reply on case #{case_id} is waiting for approval")
                answer.approve(s, settings, waiting.id, user, at)
        except ReplyRefused as e:
            refuse(case_id, channel, user, f"Nothing changed: {e}", at, act.get("action_ts") or "")
            return
        answer.post_now(db, settings, now)
        deliver()
