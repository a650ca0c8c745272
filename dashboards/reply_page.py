"""The case page's Reply form: the same submit and guards as the Slack modal (``alerts/answer.py``).

``GET /cases/{id}/reply`` shows the suggested reply, editable, the public/private choice where
the platform has one, and "Send anyway"; ``POST`` submits it as the user's staff member
(``dashboard.users[].slack_id``) and posts it at once, or shows the guards' findings on the form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gripewatch.config import Settings
from gripewatch.db import Database


def routes(
    settings: Settings,
    db: Database,
    now: Callable[[], datetime],
    login_required: Callable[..., Any],
    page: Callable[..., Response],
    actor_of: Callable[[str], str],
) -> list[Route]:
    """The form's two routes, wrapped in the dashboard's login and CSRF checks."""

    def form(request: Request, case_id: int, status: int = 200, **ctx: Any) -> Response:
        from gripewatch.alerts.card import card_payload
        from gripewatch.collectors.posting import PRIVATE, can_reply
        from gripewatch.models import Case, valid_id

        with db.sessions() as s:
            c = s.get(Case, case_id) if valid_id(case_id) else None
            if c is None:
                return page(request, "error.html", 404, message=f"No case #{case_id}.")
            p = card_payload(s, c, settings, now())
        platform = p.get("platform") or ""
        why = (
            "Replying is off (reply.enabled is false)."
            if not settings.reply.enabled
            else can_reply(settings.reply).get(platform, f"gripewatch cannot post on {platform}.")
        )
        ctx.setdefault("text", p.get("suggested_reply", ""))
        return page(
            request, "reply.html", status, c=c, p=p, unavailable=why, has_private=PRIVATE.get(platform, False), **ctx
        )

    @login_required
    def reply_get(request: Request) -> Response:
        return form(request, request.path_params["case_id"])

    @login_required
    def reply_post(request: Request) -> Response:
        from gripewatch.alerts.answer import describe, post_now, submit
        from gripewatch.errors import ReplyRefused

        case_id = request.path_params["case_id"]
        f = request.state.form
        text = str(f.get("text") or "")[:10_000]
        public = str(f.get("where") or "public") != "private"
        anyway = f.get("send_anyway") == "1"
        try:
            with db.sessions() as s, s.begin():
                out = submit(s, settings, case_id, text, actor_of(request.state.user), public, anyway, now())
        except ReplyRefused as e:
            return form(request, case_id, 422, text=text, public=public, findings=describe(e.verdict) or [str(e)])
        post_now(db, settings, now)
        request.session["flash"] = ["ok", out.message[:200]]  # the case page's banner, never text from the URL
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    return [
        Route("/cases/{case_id:int}/reply", reply_get, methods=["GET"]),
        Route("/cases/{case_id:int}/reply", reply_post, methods=["POST"]),
    ]
