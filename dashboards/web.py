"""The web dashboard: a small server-rendered Starlette app.

Every page needs a signed-in user: a password login against ``dashboard.users`` (a
server-side session, :mod:`dashboards.sessions`, throttled per user name and address) or, in
``header`` mode, the user header set by a trusted reverse proxy. Anonymous requests get the
login page or 401 and never customer data. Actions are POST forms carrying the session's CSRF
token. Case actions go through :func:`dashboards.actions.apply_dashboard_action`, which records
the audit event. Every response, errors included, carries the security headers; banners show
messages chosen by code (kept in the signed cookie), never text from the URL; only http(s)
URLs become links.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gripewatch.analysis.topics import display_name
from gripewatch.config import Settings
from gripewatch.dashboards import auth, reply_page, sessions
from gripewatch.dashboards.actions import (
    ACTIONS,
    ActionError,
    actor_id,
    apply_dashboard_action,
    apply_incident_action,
    incident_panel,
)
from gripewatch.dashboards.queue import (
    PRIORITIES,
    SLA_STATES,
    STATUSES,
    QueueFilter,
    first_response_targets,
    query_queue,
    sla_state,
)
from gripewatch.dashboards.render import http_url
from gripewatch.db import Database
from gripewatch.errors import ConfigError, GripewatchError
from gripewatch.models import Author, Case, CaseEvent, Mention, utcnow, valid_id

log = logging.getLogger("gripewatch.dashboards.web")

_SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
}
PERIOD_HELP = "Unknown period: use last-week, this-week, an ISO week such as 2026-W47, or dates FROM..TO."


def create_app(
    settings: Settings, db: Database, now: Callable[[], datetime] = utcnow, host: str | None = None
) -> Starlette:
    """The dashboard app for ``settings``, to be served on ``host`` (default ``dashboard.host``);
    ConfigError, naming the key, if its auth settings are unusable."""
    check_settings(settings, host)
    cfg = settings.dashboard
    assert cfg.secret_key is not None
    throttle = auth.LoginThrottle(cfg.login_max_failures, timedelta(minutes=cfg.login_window_minutes))
    login_tokens = auth.LoginTokens()
    templates = Jinja2Templates(directory=str(_templates_dir()))
    staff_names = {m.slack_id: m.name for m in settings.staff}
    templates.env.globals.update(actions=ACTIONS, who=lambda uid: staff_names.get(uid, uid) if uid else uid)
    templates.env.filters["http_url"] = http_url
    templates.env.globals.update(reply_enabled=settings.reply.enabled)  # the case page links the Reply form
    templates.env.globals.update(staff=settings.staff)  # the colleagues a case can be handed to
    templates.env.filters["topic_name"] = display_name  # topics in words
    targets = first_response_targets(settings)  # the SLA state shown is the one Slack works to

    def user_of(request: Request) -> str | None:
        if hasattr(request.state, "user"):
            return request.state.user  # type: ignore[no-any-return]
        user = None
        if cfg.auth == "header":
            if auth.trusts_peer(cfg, request.client.host if request.client else None):
                u = auth.header_user(cfg, request.headers.get(cfg.trusted_header))
                user = u.username if u else None
        else:
            user = sessions.user_of(db, cfg, request.session.get("sid"), now())
        request.state.user = user
        return user

    def csrf(request: Request) -> str:
        sid = request.session.get("sid")
        if cfg.auth == "password" and isinstance(sid, str) and user_of(request):
            return sessions.csrf_token(cfg, sid)
        if "csrf" not in request.session:
            request.session["csrf"] = auth.new_csrf_token()
        return str(request.session["csrf"])

    def page(request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        who = user_of(request)
        ctx.update(user=who, actor=actor_id(cfg, who) if who else None, csrf=csrf(request), auth_mode=cfg.auth)
        return _secure(templates.TemplateResponse(request, name, ctx, status_code=status))

    def login_required(handler: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapped(request: Request) -> Response:
            user = user_of(request)
            if user is None:
                if request.method == "GET" and not request.url.path.endswith(".png"):
                    if cfg.auth == "header":
                        return _secure(PlainTextResponse("login required", status_code=401))
                    return _secure(RedirectResponse(f"/login?next={request.url.path}", status_code=303))
                return _secure(PlainTextResponse("login required", status_code=401))
            if request.method == "POST":
                form = await request.form()
                if not auth.csrf_ok(csrf(request), str(form.get("csrf") or "")):
                    return _secure(PlainTextResponse("CSRF token missing or wrong; reload the page", status_code=403))
                request.state.form = form
            response: Response = await handler(request)
            return response

        return wrapped

    def login_form(request: Request, status: int = 200, nxt: str = "/cases", error: str | None = None) -> Response:
        token = login_tokens.new()
        request.session["login"] = [token, now().isoformat()]
        resp = templates.TemplateResponse(
            request, "login.html", {"user": None, "csrf": token, "auth_mode": cfg.auth, "next": nxt, "error": error},
            status_code=status,
        )  # fmt: skip
        return resp

    async def login_get(request: Request) -> Response:
        if cfg.auth == "header":
            return RedirectResponse("/cases", status_code=303)
        return login_form(request, nxt=_safe_next(request.query_params.get("next")))

    async def login_post(request: Request) -> Response:
        if cfg.auth == "header":
            return RedirectResponse("/cases", status_code=303)
        form = await request.form()
        nxt = _safe_next(str(form.get("next") or ""))
        expected, issued = (list(request.session.pop("login", None) or []) + [None, None])[:2]
        if not login_tokens.take(expected, issued, str(form.get("csrf") or ""), now()):
            return login_form(request, 403, nxt, "The form expired; please try again.")
        username = str(form.get("username") or "")[:128]
        address = auth.client_address(
            cfg, request.client.host if request.client else None, request.headers.get("x-forwarded-for")
        )
        keys = [f"user:{username}", f"addr:{address}"]
        wait = throttle.retry_after(keys, now())
        if wait is not None:
            resp = login_form(request, 429, nxt, "Too many failed sign-ins; try again later.")
            resp.headers["Retry-After"] = str(wait)
            return resp
        user = auth.authenticate(cfg, username, str(form.get("password") or "")[:1024])
        if user is None:
            locked = throttle.failed(keys, now())
            if locked:  # once per lockout: later attempts are refused before they count
                log.warning(
                    "dashboard login throttled after %d failed sign-ins in %g min: %s",
                    cfg.login_max_failures, cfg.login_window_minutes,
                    ", ".join(f"{'user name' if k.startswith('user:') else 'address'} {k.partition(':')[2][:64]!r}"
                              for k in locked),
                )  # fmt: skip
            return login_form(request, 401, nxt, "Wrong user name or password.")
        throttle.succeeded(f"user:{user.username}")
        sessions.end(db, request.session.get("sid"), now(), "signed in again")
        request.session.clear()  # no session fixation
        request.session["sid"] = sessions.start(db, cfg, user.username, now())
        return RedirectResponse(nxt, status_code=303)

    @login_required
    async def logout(request: Request) -> Response:
        sessions.end(db, request.session.get("sid"), now())
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @login_required
    async def queue(request: Request) -> Response:
        f = QueueFilter.from_query(request.query_params)
        with db.sessions() as s:
            rows, total = query_queue(s, f, actor_id(cfg, request.state.user), now(), targets, cfg.page_size)
            incident = incident_panel(s, settings, f.incident, now())
        pages = max(1, -(-total // cfg.page_size))
        kind, text = (list(request.session.pop("flash", None) or []) + [None, None])[:2]
        return page(
            request, "queue.html", f=f, rows=rows, total=total, pages=pages, incident=incident,
            flash=text if kind == "ok" else None, error=text if kind == "err" else None,
            statuses=STATUSES, priorities=PRIORITIES, sla_states=SLA_STATES,
            brands=[b.name for b in settings.brands], sources=[x.name for x in settings.sources],
            assignees=[u.username for u in cfg.users],
        )  # fmt: skip

    @login_required
    async def case_detail(request: Request) -> Response:
        case_id = request.path_params["case_id"]
        if not valid_id(case_id):  # a number no id column holds is no case, not a database error
            return page(request, "error.html", 404, message=f"No case #{case_id}.")
        with db.sessions() as s:
            c = s.get(Case, case_id)
            if c is None:
                return page(request, "error.html", 404, message=f"No case #{case_id}.")
            author = s.get(Author, c.author_id) if c.author_id else None
            mentions = s.execute(
                select(Mention, Author.handle)
                .outerjoin(Author, Author.id == Mention.author_id)
                .where(Mention.case_id == case_id)
                .order_by(Mention.created_at, Mention.id)
            ).all()
            events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
        kind, text = (list(request.session.pop("flash", None) or []) + [None, None])[:2]
        return page(
            request, "case.html", c=c, author=author, mentions=mentions, events=events,
            sla=sla_state(c, now(), targets) if c.status in ("new", "acknowledged", "waiting", "escalated") else None,
            flash=text if kind == "ok" else None, error=text if kind == "err" else None,
        )  # fmt: skip

    @login_required
    async def case_action(request: Request) -> Response:
        case_id = request.path_params["case_id"]
        if not valid_id(case_id):  # a number no id column holds is no case, not a database error
            return page(request, "error.html", 404, message=f"No case #{case_id}.")
        action = str(request.state.form.get("action") or "")
        try:
            with db.session() as s:
                apply_dashboard_action(s, settings, case_id, action, actor_id(cfg, request.state.user), now())
        except ActionError as e:
            if "no case" in str(e):
                return page(request, "error.html", 404, message=f"No case #{case_id}.")
            request.session["flash"] = ["err", str(e)[:200]]  # a message of ours, never the URL's
        else:
            request.session["flash"] = ["ok", ACTIONS[action]]
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @login_required
    async def incident_action(request: Request) -> Response:
        incident_id = request.path_params["incident_id"]
        form = request.state.form
        back = f"/cases?status=all&incident={incident_id}"
        try:
            with db.session() as s:
                msg = apply_incident_action(
                    s, settings, incident_id, str(form.get("action") or ""), actor_id(cfg, request.state.user),
                    now(), str(form.get("text") or "")[:2000],
                )  # fmt: skip
        except ActionError as e:
            request.session["flash"] = ["err", str(e)[:200]]  # a message of ours, never the URL's
        else:
            request.session["flash"] = ["ok", str(msg)[:200]]
        return _secure(RedirectResponse(back, status_code=303))

    @login_required
    async def case_work(request: Request) -> Response:
        """``/cases/ID/reassign`` (field ``to``) and ``/cases/ID/note`` (field ``text``): alerts.casework."""
        from gripewatch.alerts.casework import add_note, reassign

        case_id, form = request.path_params["case_id"], request.state.form
        if not valid_id(case_id):
            return page(request, "error.html", 404, message=f"No case #{case_id}.")
        actor = actor_id(cfg, request.state.user)
        try:
            with db.session() as s:
                if request.url.path.endswith("/reassign"):
                    out = reassign(s, settings, case_id, str(form.get("to") or ""), actor, now())
                else:
                    out = add_note(s, settings, case_id, str(form.get("text") or ""), actor, now())
        except ActionError as e:
            request.session["flash"] = ["err", str(e)[:200]]  # a message of ours, never the URL's
        else:
            request.session["flash"] = ["ok", out.message[:200]]
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @login_required
    async def trends(request: Request) -> Response:
        return page(request, "trends.html")

    @login_required
    async def trends_png(request: Request) -> Response:
        from gripewatch.dashboards.charts import trend_chart
        from gripewatch.dashboards.load import hour_bucket

        end = now()
        start = (end - timedelta(days=56)).replace(hour=0, minute=0, second=0, microsecond=0)
        with db.sessions() as s:
            day = func.substr(hour_bucket(s, Mention.created_at), 1, 10)
            rows = s.execute(
                select(day, func.count(), func.sum(case((Mention.is_complaint.is_(True), 1), else_=0)))
                .where(Mention.created_at >= start, Mention.is_own.is_(False))
                .group_by(day)
            ).all()
        by_day = {d: (n, int(c or 0)) for d, n, c in rows}
        days = [(start + timedelta(days=i)).date() for i in range(57)]
        png = trend_chart(
            days, [by_day.get(str(d), (0, 0))[0] for d in days], [by_day.get(str(d), (0, 0))[1] for d in days]
        )
        return _secure(Response(png, media_type="image/png"))

    @login_required
    async def digest_page(request: Request) -> Response:
        from gripewatch.dashboards.load import make_digest
        from gripewatch.dashboards.render import data_uri, render_html

        try:
            d, chart = make_digest(db, settings, request.query_params.get("period") or "last-week", now())
        except GripewatchError:
            return page(request, "error.html", 400, message=PERIOD_HELP)  # the query's text is not repeated
        return HTMLResponse(render_html(d, chart_src=data_uri(chart)))

    async def home(request: Request) -> Response:
        return RedirectResponse("/cases", status_code=303)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/login", login_get, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/cases", queue),
        Route("/cases/{case_id:int}", case_detail),
        Route("/cases/{case_id:int}/action", case_action, methods=["POST"]),
        Route("/incidents/{incident_id:int}/action", incident_action, methods=["POST"]),
        Route("/cases/{case_id:int}/reassign", case_work, methods=["POST"]),
        Route("/cases/{case_id:int}/note", case_work, methods=["POST"]),
        Route("/trends", trends),
        Route("/trends.png", trends_png),
        Route("/digest", digest_page),
    ]
    routes += reply_page.routes(settings, db, now, login_required, page, lambda user: actor_id(cfg, user))

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return PlainTextResponse("not found" if status == 404 else "method not allowed", status_code=status)

    async def server_error(request: Request, exc: Exception) -> Response:
        return _secure(PlainTextResponse("Internal error; the details are in the dashboard's log.", status_code=500))

    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=cfg.secret_key.get_secret_value(),
            session_cookie="gripewatch_session",
            max_age=int(cfg.session_hours * 3600),
            same_site="strict",
            https_only=cfg.secure_cookies,
        ),
    ]
    handlers = {404: not_found, 405: not_found, Exception: server_error}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)


def check_settings(settings: Settings, host: str | None = None) -> None:
    """ConfigError (one line naming the key) when the dashboard must not start with ``settings``
    on ``host``: a weak or missing secret key, no usable user, or header mode reachable from
    other machines without named proxies."""
    cfg = settings.dashboard
    where = settings.config_path
    problem = auth.check_secret_key(cfg)
    if problem:
        raise ConfigError(f"{where}: dashboard.secret_key: {problem}")
    if cfg.auth == "password" and not any(u.password_hash for u in cfg.users):
        raise ConfigError(f"{where}: dashboard.users: no user with a password_hash")
    if cfg.auth == "header":
        if not cfg.users:
            raise ConfigError(f"{where}: dashboard.users: header mode needs the list of users the proxy may name")
        bind = host or cfg.host
        if not auth.is_loopback_host(bind) and not cfg.trusted_proxies:
            raise ConfigError(
                f"{where}: dashboard.trusted_proxies: header mode listening on {bind} (not loopback) "
                "needs the reverse proxies' addresses, or bind to 127.0.0.1"
            )


class SecurityHeaders:
    """Adds the security headers to every HTTP response the app sends (404s and redirects too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                for k, v in _SECURITY_HEADERS.items():
                    if k.lower().encode() not in have:
                        headers.append((k.lower().encode(), v.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _templates_dir() -> Path:

    return Path(__file__).parent / "templates"


def _secure(resp: Response) -> Response:
    for k, v in _SECURITY_HEADERS.items():
        resp.headers.setdefault(k, v)
    return resp


def _safe_next(value: str | None) -> str:
    """Only local paths: never redirect a login to another site (browsers drop tabs and newlines,
    and read a backslash as a slash, so ``/\\n/evil`` would be ``//evil``)."""
    from urllib.parse import urlsplit

    if not value or len(value) > 512 or not value.startswith("/") or value.startswith("//"):
        return "/cases"
    if "\\" in value or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        return "/cases"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/cases"
