"""The web dashboard: a small server-rendered Starlette app.

Every page needs a logged-in user (a password login against ``dashboard.users``
or, in ``header`` mode, a trusted reverse-proxy header); anonymous requests get
the login page or 401 and never customer data. Actions are POST forms carrying
the session's CSRF token. Case actions go through
:func:`dashboards.actions.apply_dashboard_action`, which records the audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from gripewatch.config import Settings
from gripewatch.dashboards import auth
from gripewatch.dashboards.actions import ACTIONS, ActionError, actor_id, apply_dashboard_action
from gripewatch.dashboards.queue import (
    PRIORITIES,
    SLA_STATES,
    STATUSES,
    QueueFilter,
    first_response_targets,
    query_queue,
    sla_state,
)
from gripewatch.db import Database
from gripewatch.errors import ConfigError, GripewatchError
from gripewatch.models import Author, Case, CaseEvent, Mention, utcnow

_SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
}


def create_app(settings: Settings, db: Database, now: Callable[[], datetime] = utcnow) -> Starlette:
    """The dashboard app for ``settings``; ConfigError if its auth settings are unusable."""
    cfg = settings.dashboard
    if cfg.secret_key is None or len(cfg.secret_key.get_secret_value()) < 16:
        raise ConfigError(f"{settings.config_path}: dashboard.secret_key: set it (16+ characters, from ${{ENV}})")
    if cfg.auth == "password" and not any(u.password_hash for u in cfg.users):
        raise ConfigError(f"{settings.config_path}: dashboard.users: no user with a password_hash")
    templates = Jinja2Templates(directory=str(_templates_dir()))
    staff_names = {m.slack_id: m.name for m in settings.staff}
    templates.env.globals.update(actions=ACTIONS, who=lambda uid: staff_names.get(uid, uid) if uid else uid)
    targets = first_response_targets(settings)  # the SLA state shown is the one Slack works to

    def user_of(request: Request) -> str | None:
        if cfg.auth == "header":
            u = auth.header_user(cfg, request.headers.get(cfg.trusted_header))
            return u.username if u else None
        name = request.session.get("user")
        return name if name and any(u.username == name for u in cfg.users) else None

    def csrf(request: Request) -> str:
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
                if not auth.csrf_ok(request.session.get("csrf"), str(form.get("csrf") or "")):
                    return _secure(PlainTextResponse("CSRF token missing or wrong; reload the page", status_code=403))
                request.state.form = form
            request.state.user = user
            response: Response = await handler(request)
            return response

        return wrapped

    async def login_get(request: Request) -> Response:
        if cfg.auth == "header":
            return RedirectResponse("/cases", status_code=303)
        return page(request, "login.html", next=_safe_next(request.query_params.get("next")), error=None)

    async def login_post(request: Request) -> Response:
        form = await request.form()
        nxt = _safe_next(str(form.get("next") or ""))
        if not auth.csrf_ok(request.session.get("csrf"), str(form.get("csrf") or "")):
            return page(request, "login.html", 403, next=nxt, error="The form expired; please try again.")
        user = auth.authenticate(cfg, str(form.get("username") or "")[:128], str(form.get("password") or "")[:1024])
        if user is None:
            return page(request, "login.html", 401, next=nxt, error="Wrong user name or password.")
        request.session.clear()  # no session fixation
        request.session.update(user=user.username, csrf=auth.new_csrf_token())
        return _secure(RedirectResponse(nxt, status_code=303))

    @login_required
    async def logout(request: Request) -> Response:
        request.session.clear()
        return _secure(RedirectResponse("/login", status_code=303))

    @login_required
    async def queue(request: Request) -> Response:
        f = QueueFilter.from_query(request.query_params)
        with db.sessions() as s:
            rows, total = query_queue(s, f, actor_id(cfg, request.state.user), now(), targets, cfg.page_size)
        pages = max(1, -(-total // cfg.page_size))
        return page(
            request, "queue.html", f=f, rows=rows, total=total, pages=pages,
            statuses=STATUSES, priorities=PRIORITIES, sla_states=SLA_STATES,
            brands=[b.name for b in settings.brands], sources=[x.name for x in settings.sources],
            assignees=[u.username for u in cfg.users],
        )  # fmt: skip

    @login_required
    async def case_detail(request: Request) -> Response:
        case_id = request.path_params["case_id"]
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
        return page(
            request, "case.html", c=c, author=author, mentions=mentions, events=events,
            sla=sla_state(c, now(), targets) if c.status in ("new", "acknowledged", "waiting", "escalated") else None,
            flash=request.query_params.get("done"), error=request.query_params.get("error"),
        )  # fmt: skip

    @login_required
    async def case_action(request: Request) -> Response:
        case_id = request.path_params["case_id"]
        action = str(request.state.form.get("action") or "")
        try:
            with db.session() as s:
                apply_dashboard_action(s, settings, case_id, action, actor_id(cfg, request.state.user), now())
        except ActionError as e:
            return _secure(RedirectResponse(f"/cases/{case_id}?error={_q(str(e))}", status_code=303))
        return _secure(RedirectResponse(f"/cases/{case_id}?done={_q(ACTIONS[action])}", status_code=303))

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
        except GripewatchError as e:
            return page(request, "error.html", 400, message=str(e))
        return _secure(HTMLResponse(render_html(d, chart_src=data_uri(chart))))

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
        Route("/trends", trends),
        Route("/trends.png", trends_png),
        Route("/digest", digest_page),
    ]
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=cfg.secret_key.get_secret_value(),
            session_cookie="gripewatch_session",
            max_age=int(cfg.session_hours * 3600),
            same_site="strict",
            https_only=cfg.secure_cookies,
        )
    ]
    return Starlette(routes=routes, middleware=middleware)


def _templates_dir() -> Path:

    return Path(__file__).parent / "templates"


def _secure(resp: Response) -> Response:
    for k, v in _SECURITY_HEADERS.items():
        resp.headers.setdefault(k, v)
    return resp


def _safe_next(value: str | None) -> str:
    """Only local paths: never redirect a login to another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/cases"


def _q(s: str) -> str:
    from urllib.parse import quote

    return quote(s[:200])
