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
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
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
    done_message,
    incident_panel,
    sentence,
)
from gripewatch.dashboards.casepage import age
from gripewatch.dashboards.figures import satisfaction_lines
from gripewatch.dashboards.queue import (
    PRIORITIES,
    SLA_STATES,
    SORTS,
    STATUSES,
    TOPICS,
    QueueFilter,
    facet_counts,
    first_response_targets,
    languages,
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

_CHART_LOCK = threading.Lock()
_STATIC_JS = (Path(__file__).parent / "templates" / "gripewatch.js").read_bytes()


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
    templates.env.globals.update(age=age, age_minutes=lambda m: age(timedelta(minutes=m)))
    templates.env.globals.update(satisfaction_lines=satisfaction_lines)
    targets = first_response_targets(settings)  # the SLA state shown is the one Slack works to

    p90_memo: dict[str, tuple[datetime, timedelta | None]] = {}

    def measured_p90(s: Any, priority: str) -> timedelta | None:
        """The measured p90 first response of ``priority`` (the suggested reply's promise), kept 5 minutes:
        measuring reads every answered case of ``cases.p90_window_days``, too slow for every case page."""
        from gripewatch.alerts.reply import first_response_p90

        at = now()
        kept = p90_memo.get(priority)
        if kept is None or kept[0] < at:
            c = settings.cases
            kept = (
                at + timedelta(minutes=5),
                first_response_p90(s, priority, at, c.p90_window_days, c.p90_min_samples),
            )
            p90_memo[priority] = kept
        return kept[1]

    languages_memo: list[tuple[datetime, tuple[str, ...]]] = []

    def known_languages(s: Any) -> tuple[str, ...]:
        """The languages of the cases' posts, for the filter: kept 5 minutes (it reads every case's posts)."""
        at = now()
        if not languages_memo or languages_memo[-1][0] < at:
            languages_memo[:] = [(at + timedelta(minutes=5), languages(s))]
        return languages_memo[-1][1]

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
        """The handler behind the login and CSRF checks. Handlers are plain functions doing blocking
        work (database, charts): they run in Starlette's threadpool, never on the event loop."""

        def guarded(request: Request) -> Response:
            user = user_of(request)
            if user is None:
                if request.method == "GET" and not request.url.path.endswith(".png"):
                    if cfg.auth == "header":
                        return _secure(PlainTextResponse("login required", status_code=401))
                    return _secure(RedirectResponse(f"/login?next={request.url.path}", status_code=303))
                return _secure(PlainTextResponse("login required", status_code=401))
            if request.method == "POST":
                if not auth.csrf_ok(csrf(request), str(request.state.form.get("csrf") or "")):
                    return _secure(PlainTextResponse("CSRF token missing or wrong; reload the page", status_code=403))
            response: Response = handler(request)
            return response

        async def wrapped(request: Request) -> Response:
            if request.method == "POST":
                request.state.form = await request.form()
            return await run_in_threadpool(guarded, request)

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
        return await run_in_threadpool(check_login, request, form)  # scrypt takes a while: off the event loop

    def check_login(request: Request, form: Any) -> Response:
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
    def logout(request: Request) -> Response:
        sessions.end(db, request.session.get("sid"), now())
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @login_required
    def queue(request: Request) -> Response:
        from gripewatch.alerts import incidents

        f = QueueFilter.from_query(request.query_params)
        user = actor_id(cfg, request.state.user)
        brands, sources = tuple(b.name for b in settings.brands), tuple(x.name for x in settings.sources)
        with db.sessions() as s:
            rows, total = query_queue(s, f, user, now(), targets, cfg.page_size)
            langs = tuple(dict.fromkeys(((f.language,) if f.language else ()) + known_languages(s)))
            counts = facet_counts(
                s,
                f,
                user,
                now(),
                targets,
                {"brand": brands, "source": sources, "topic": TOPICS, "language": langs},
                total,
            )
            incident = incident_panel(s, settings, f.incident, now())
            live = incidents.listing(s, "live")
        pages = max(1, -(-total // cfg.page_size))
        kind, text = (list(request.session.pop("flash", None) or []) + [None, None])[:2]
        return page(
            request, "queue.html", f=f, rows=rows, total=total, pages=pages, counts=counts, now=now(),
            incident=incident, incidents=live,
            statuses=STATUSES, priorities=PRIORITIES, sla_states=SLA_STATES, sorts=SORTS, topics=TOPICS,
            languages=langs, brands=brands, sources=sources,
            assignees=[m.slack_id for m in settings.staff] or [u.username for u in cfg.users],
            flash=text if kind == "ok" else None, error=text if kind == "err" else None,
        )  # fmt: skip

    @login_required
    def case_detail(request: Request) -> Response:
        from gripewatch.alerts.card import card_payload
        from gripewatch.dashboards.casepage import other_cases, priority_parts, sla_clocks

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
            card = card_payload(s, c, settings, now(), p90_of=lambda priority: measured_p90(s, priority))
            others = other_cases(s, c)
        posted = next((m.created_at for m, _ in mentions if not m.is_own), None) or c.opened_at
        kind, text = (list(request.session.pop("flash", None) or []) + [None, None])[:2]
        return page(
            request, "case.html", c=c, author=author, mentions=mentions, events=events, card=card, others=others,
            parts=priority_parts(c.priority_parts), clocks=sla_clocks(c, now()), posted_at=posted, now=now(),
            sla=sla_state(c, now(), targets) if c.status in ("new", "acknowledged", "waiting", "escalated") else None,
            flash=text if kind == "ok" else None, error=text if kind == "err" else None,
        )  # fmt: skip

    @login_required
    def case_action(request: Request) -> Response:
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
            request.session["flash"] = ["err", sentence(str(e))[:200]]  # a message of ours, never the URL's
        else:
            request.session["flash"] = ["ok", done_message(action, case_id)]
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @login_required
    def incident_action(request: Request) -> Response:
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
            request.session["flash"] = ["ok", sentence(str(msg))[:200]]
        return _secure(RedirectResponse(back, status_code=303))

    @login_required
    def group_incident(request: Request) -> Response:
        """``/incidents/group``: the queue's bulk selection (fields ``case``, ``incident`` or ``title``)."""
        from gripewatch.dashboards.actions import group_into_incident

        form = request.state.form
        ids = [int(v) for v in form.getlist("case") if str(v).isdigit() and len(str(v)) < 11]
        target = str(form.get("incident") or "")
        incident_id = int(target) if target.isdigit() and len(target) < 11 else None
        try:
            with db.session() as s:
                msg = group_into_incident(
                    s, settings, ids, incident_id, str(form.get("title") or ""), actor_id(cfg, request.state.user),
                    now(),
                )  # fmt: skip
                joined = s.scalar(select(Case.incident_id).where(Case.id.in_(ids or [0]))) if ids else None
        except ActionError as e:
            request.session["flash"] = ["err", sentence(str(e))[:200]]
            return RedirectResponse("/cases", status_code=303)
        request.session["flash"] = ["ok", sentence(msg)[:200]]
        return RedirectResponse(f"/cases?status=all&incident={joined}" if joined else "/cases", status_code=303)

    @login_required
    def case_work(request: Request) -> Response:
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
            request.session["flash"] = ["err", sentence(str(e))[:200]]  # a message of ours, never the URL's
        else:
            request.session["flash"] = ["ok", sentence(out.message)[:200]]
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @login_required
    def trends(request: Request) -> Response:
        from gripewatch.dashboards import trends as t

        choice = request.query_params.get("period") or t.DEFAULT
        try:
            period = t.trend_period(choice, settings.digest.timezone, now())
        except GripewatchError:
            return page(request, "error.html", 400, message=t.PERIOD_HELP)
        with db.sessions() as s:
            data = t.load_trends(s, period, now())
        return page(request, "trends.html", data=data, charts=t.charts(data), choice=choice, choices=t.CHOICES)

    @login_required
    def digest_page(request: Request) -> Response:
        from gripewatch.dashboards import trends as t
        from gripewatch.dashboards.load import make_digest
        from gripewatch.dashboards.render import data_uri, render_html

        choice = request.query_params.get("period") or "last-week"
        try:
            with _CHART_LOCK:  # matplotlib's pyplot is not thread-safe
                d, chart = make_digest(db, settings, choice, now())
        except GripewatchError:
            return page(request, "error.html", 400, message=t.DIGEST_PERIOD_HELP)
        body = render_html(d, chart_src=data_uri(chart), embedded=True)
        return page(request, "digest_page.html", d=d, body=Markup(body), choice=choice, choices=t.DIGEST_CHOICES)

    async def static_js(request: Request) -> Response:
        return _secure(Response(_STATIC_JS, media_type="text/javascript"))

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
        Route("/incidents/group", group_incident, methods=["POST"]),
        Route("/cases/{case_id:int}/reassign", case_work, methods=["POST"]),
        Route("/cases/{case_id:int}/note", case_work, methods=["POST"]),
        Route("/trends", trends),
        Route("/digest", digest_page),
        Route("/static/gripewatch.js", static_js),
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
