"""Settings: declared once, read from YAML, validated into frozen objects.

``load_settings(path)`` reads config.yaml, substitutes ``${ENV_VAR}`` (and
``${ENV_VAR:-default}``) references, validates every key and returns a frozen
:class:`Settings`. Any problem raises :class:`~gripewatch.errors.ConfigError`
with one line naming the file and the key. Secret values never appear in
messages. Relative paths (replay files, SQLite URLs) are resolved against the
config file's folder, so cron jobs work from any directory.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError, field_validator

from gripewatch.analysis.settings import AnalysisSettings
from gripewatch.collectors import REGISTRY  # names → import paths; a source's module loads when it is used
from gripewatch.errors import ConfigError

DEFAULT_PATH = "config.yaml"
ENV_CONFIG = "GRIPEWATCH_CONFIG"
_DB_URL = re.compile(r"^[A-Za-z][\w+]*://")
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(Strict):
    url: str = "sqlite:///gripewatch.db"
    pool_size: int = Field(5, ge=1)
    max_overflow: int = Field(10, ge=0)
    pool_timeout_seconds: float = Field(30.0, gt=0)
    pool_recycle_seconds: int = Field(1800, ge=-1)
    connect_timeout_seconds: int = Field(10, ge=1)
    busy_timeout_seconds: float = Field(10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        # SQLAlchemy's own form, DIALECT[+DRIVER]://…, checked without importing it (the driver is checked
        # when the database is opened); the value is not repeated: it may hold a password
        if not _DB_URL.match(v):
            raise ValueError("not a SQLAlchemy URL (for example sqlite:///gripewatch.db)")
        return v

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`gripewatch.db.make_engine` / ``open_database`` beside the URL."""
        return {
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.pool_timeout_seconds,
            "pool_recycle": self.pool_recycle_seconds,
            "connect_timeout": self.connect_timeout_seconds,
            "busy_timeout": self.busy_timeout_seconds,
        }


class BrandConfig(Strict):
    name: str = Field(min_length=1)
    keywords: tuple[str, ...] = ()
    handles: dict[str, tuple[str, ...]] = {}

    @field_validator("handles", mode="before")
    @classmethod
    def _handles(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: ([h] if isinstance(h, str) else h) for k, h in v.items()}
        return v


class SourceConfig(Strict):
    """A source entry. ``options`` holds the type-specific keys, validated by the collector."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    type: str
    brand: str | None = None
    enabled: bool = True
    interval_seconds: int = Field(300, ge=1)
    options: Any = None


class SlackChannels(Strict):
    alerts: str = "#social-care"
    escalations: str = "#social-escalations"
    digest: str = "#social-digest"
    ops: str | None = None  # default: the alerts channel


class RoutingRule(Strict):
    """First matching rule picks the channel of a new case (empty lists match anything)."""

    channel: str = Field(min_length=1)
    severity: tuple[str, ...] = ()
    brand: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    escalation: bool | None = None


class SlackConfig(Strict):
    mode: Literal["console", "api"] = "console"
    token: SecretStr | None = None
    app_token: SecretStr | None = None  # xapp-… for Socket Mode (`slack serve`)
    signing_secret: SecretStr | None = None  # HTTP mode (`slack serve --http`)
    allow_public_channels: bool = False
    base_url: str = "https://slack.com/api/"
    channels: SlackChannels = SlackChannels()
    routing: tuple[RoutingRule, ...] = ()
    timeout_seconds: float = Field(10.0, gt=0)


class OutboxConfig(Strict):
    max_attempts: int = Field(20, ge=1)
    backoff_seconds: float = Field(5.0, gt=0)
    max_backoff_seconds: float = Field(600.0, gt=0)
    per_channel_per_second: float = Field(1.0, ge=0)  # Slack: about 1 message per second per channel; 0 = off
    burst: int = Field(4, ge=1)  # messages a quiet channel may take at once


class IncidentsConfig(Strict):
    """A brand's cases sharing one problem become one incident (one Slack card for all of them)."""

    enabled: bool = True
    min_cases: int = Field(5, ge=2)  # near-identical complaints from different customers ...
    window_minutes: float = Field(60, gt=0)  # ... posted within this many minutes


class PipelineConfig(Strict):
    batch_size: int = Field(200, ge=1, le=10_000)
    lease_seconds: int = Field(300, ge=10)


def check_timezone(v: str) -> str:
    """``v`` if it is an IANA time zone name, else ValueError."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {v!r}") from None
    return v


class SpikeConfig(Strict):
    """Complaint spikes per brand and topic against the same hours of the previous weeks."""

    enabled: bool = True
    window_hours: int = Field(3, ge=1, le=48)
    baseline_weeks: int = Field(4, ge=1, le=12)
    min_complaints: int = Field(5, ge=1)
    min_ratio: float = Field(3.0, ge=1.0)
    z_threshold: float = Field(4.0, gt=0)
    cooldown_hours: float = Field(12.0, ge=0)


class DigestEmailConfig(Strict):
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False  # implicit TLS (port 465)
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "gripewatch@localhost"
    recipients: tuple[str, ...] = ()
    timeout_seconds: float = Field(30.0, gt=0)


class DigestConfig(Strict):
    """The weekly digest (``gripewatch digest``) and spike alerts."""

    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time: str = Field("08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    timezone: str = "UTC"
    mask_authors: bool = True
    top_n: int = Field(5, ge=1, le=50)
    high_reach_followers: int = Field(10_000, ge=0)
    competitors: tuple[str, ...] = ()  # brands (configured under brands:) that are competitors
    third_parties: tuple[str, ...] = ()  # names of partners/suppliers to count in complaints
    dashboard_url: str | None = None  # linked from the digest and from spike alerts (http:// or https://)
    email: DigestEmailConfig = DigestEmailConfig()
    spikes: SpikeConfig = SpikeConfig()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("dashboard_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"(?i)^https?://[^\s/?#]+(/\S*)?$", v):
            raise ValueError("must be an http:// or https:// URL")
        return v


class SchedulerConfig(Strict):
    """``gripewatch serve``: how often each job runs and how late it may start.

    The weekly digest's time is ``digest.day`` / ``digest.time`` / ``digest.timezone``.
    """

    outbox_seconds: float = Field(2.0, gt=0)
    sla_seconds: float = Field(60.0, gt=0)
    spikes_seconds: float = Field(300.0, gt=0)
    retention_hours: float = Field(24.0, gt=0)
    recheck_minutes: float = Field(60.0, gt=0)  # look the posts of open cases up again (upstream deletions)
    misfire_grace_seconds: int = Field(30, ge=1)
    min_poll_seconds: float = Field(10.0, gt=0)
    max_backoff_seconds: float = Field(900.0, gt=0)
    db_retry_max_seconds: float = Field(60.0, gt=0)
    shutdown_timeout_seconds: float = Field(60.0, gt=0)


class WorkingHours(Strict):
    """Working hours ``HH:MM-HH:MM`` on ``days`` in time zone ``tz`` (IANA name)."""

    hours: str = Field("09:00-17:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = Field(
        default=("mon", "tue", "wed", "thu", "fri"), min_length=1
    )
    tz: str = "UTC"

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)


class DashboardUser(Strict):
    username: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$")
    name: str | None = None
    password_hash: SecretStr | None = None  # from `gripewatch dashboard --hash-password`
    role: Literal["agent", "manager", "admin"] = "agent"
    slack_id: str | None = Field(None, pattern=r"^[UW][A-Z0-9]+$")  # the staff member this user acts as


class DashboardConfig(Strict):
    """The web dashboard (``gripewatch dashboard``).

    ``secret_key`` may be unset here (commands other than ``dashboard`` do not need it); the
    dashboard refuses to start without a strong one (``dashboards.auth.check_secret_key``).
    """

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    auth: Literal["password", "header"] = "password"
    trusted_header: str = "X-Forwarded-User"
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks of the reverse proxies (header mode, X-Forwarded-For)
    secret_key: SecretStr | None = None
    session_hours: float = Field(12.0, gt=0)  # a session ends this long after sign-in, however busy
    idle_minutes: float = Field(60.0, gt=0)  # … or after this long without a request
    login_max_failures: int = Field(5, ge=1)  # failed sign-ins per user name and per address …
    login_window_minutes: float = Field(15.0, gt=0)  # … within this window: then 429 until the window clears
    secure_cookies: bool = False  # set true behind HTTPS
    users: tuple[DashboardUser, ...] = ()
    page_size: int = Field(50, ge=1, le=500)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for p in v:
            try:
                ipaddress.ip_network(p.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{p!r} is not an IP address or network (e.g. 10.0.0.2 or 10.0.0.0/24)") from None
        return tuple(p.strip() for p in v)


class SlaTarget(Strict):
    first_response_minutes: float = Field(gt=0)
    resolution_minutes: float = Field(gt=0)


def _default_sla() -> dict[str, SlaTarget]:
    return {
        "critical": SlaTarget(first_response_minutes=15, resolution_minutes=240),
        "high": SlaTarget(first_response_minutes=60, resolution_minutes=480),
        "normal": SlaTarget(first_response_minutes=240, resolution_minutes=1440),
        "low": SlaTarget(first_response_minutes=1440, resolution_minutes=4320),
    }


class PriorityWeights(Strict):
    """Points of each part of a case's priority score (shown on the alert)."""

    severity: dict[str, float] = {"low": 0, "medium": 15, "high": 35, "critical": 60}
    escalation: float = 20  # per escalation trigger (manager, legal, safety, churn, …)
    reach: tuple[tuple[int, float], ...] = ((1_000, 5), (10_000, 10), (100_000, 20), (1_000_000, 30))
    tier: dict[str, float] = {"vip": 25, "gold": 15, "silver": 5}
    lifetime_value_per_1000: float = 2  # points per 1,000 of lifetime value …
    lifetime_value_max: float = 20  # … up to this many
    repeat_contact: float = 10  # per mention after the first
    repeat_contact_max: float = 30
    waiting_per_hour: float = 2  # per hour the case has waited for a first response
    waiting_max: float = 20
    thresholds: dict[str, float] = {"critical": 60, "high": 35, "normal": 15}


class CasesConfig(Strict):
    reopen_days: float = Field(7, ge=0)
    follow_up_days: float = Field(2, ge=0)
    sla: dict[Literal["critical", "high", "normal", "low"], SlaTarget] = Field(default_factory=_default_sla)  # type: ignore[arg-type]
    priority: PriorityWeights = PriorityWeights()
    working_hours: WorkingHours | None = None  # SLA clocks count only these hours when set
    p90_min_samples: int = Field(10, ge=1)  # fewer measured first responses: promise no time
    p90_window_days: int = Field(90, ge=1)
    backfill_after_hours: float = Field(24, gt=0)  # older posts when collected open backlog cases (no own card)
    #: topic -> the suggested reply for it; may use {handle}, {brand} and {promise} (the measured time)
    canned_replies: dict[str, str] = {}

    @field_validator("canned_replies")
    @classmethod
    def _canned(cls, v: dict[str, str]) -> dict[str, str]:
        import string

        for topic, text in v.items():
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
            except ValueError as e:
                raise ValueError(f"{topic}: {e}") from None
            unknown = names - {"handle", "brand", "promise"}
            if unknown:
                raise ValueError(
                    f"{topic}: unknown placeholder {{{sorted(unknown)[0]}}} (use {{handle}}, {{brand}}, {{promise}})"
                )
        return v


class StaffMember(Strict):
    slack_id: str = Field(pattern=r"^[UW][A-Z0-9]+$")
    name: str = Field(min_length=1)
    role: Literal["agent", "manager"] = "agent"
    capacity: int = Field(10, ge=0)
    working_hours: WorkingHours | None = None  # none: always on shift


class RetentionConfig(Strict):
    """What the daily purge removes. ``days: null`` keeps mention texts forever."""

    days: int | None = Field(None, ge=1)
    keep_open_cases: bool = True
    job_runs_days: int = Field(14, ge=1)


class MetricsConfig(Strict):
    """Optional HTTP endpoint of ``serve``: ``/healthz`` and Prometheus ``/metrics``."""

    port: int | None = Field(None, ge=0, le=65535)
    host: str = "127.0.0.1"


class LoggingConfig(Strict):
    format: Literal["text", "json"] = "text"


class HealthConfig(Strict):
    """When a source's health raises an operations alert (``gripewatch sources`` shows it)."""

    alert_after_failures: int = Field(1, ge=1)  # failed runs in a row (after retries) that make an incident
    silence_factor: float = Field(6.0, gt=1)  # silent: no mention for this many times the usual gap …
    min_silence_hours: float = Field(6.0, gt=0)  # … and at least this long
    baseline_days: int = Field(7, ge=1)  # the usual rate is measured over this many days
    min_baseline_mentions: int = Field(20, ge=1)  # fewer mentions in the baseline: no silence alerts


class XPosting(Strict):
    """The brand account's user-context keys (OAuth 1.0a) for replies and DMs on X."""

    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None


class RedditPosting(Strict):
    """A script app of the brand's Reddit account (password grant) for replies and private messages."""

    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    user_agent: str = "gripewatch-reply (by the brand's social team)"


class MastodonPosting(Strict):
    api_base_url: str | None = None  # the brand account's instance, e.g. https://mastodon.social
    access_token: SecretStr | None = None  # write:statuses


class BlueskyPosting(Strict):
    handle: str | None = None
    app_password: SecretStr | None = None
    base_url: str = "https://bsky.social/xrpc"


#: Posting credentials that must come from ``${ENV}`` references, never written into the file.
REPLY_SECRETS = {
    "x": ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
    "reddit": ("client_id", "client_secret", "password"),
    "mastodon": ("access_token",),
    "bluesky": ("app_password",),
}


class ReplyConfig(Strict):
    """Answering from Slack (off until ``enabled``; a platform replies only once its credentials are set)."""

    enabled: bool = False
    x: XPosting = XPosting()
    reddit: RedditPosting = RedditPosting()
    mastodon: MastodonPosting = MastodonPosting()
    bluesky: BlueskyPosting = BlueskyPosting()
    privacy_patterns: dict[str, str] | None = None  # name -> regex; none: the built-in ones
    needs_approval: tuple[str, ...] = ("escalated", "legal", "safety")  # case status or escalation trigger

    @field_validator("privacy_patterns")
    @classmethod
    def _patterns(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for name, rx in (v or {}).items():
            try:
                re.compile(rx)
            except re.error as e:
                raise ValueError(f"{name}: not a regular expression ({e})") from None
        return v


class Settings(Strict):
    database: DatabaseConfig = DatabaseConfig()
    brands: tuple[BrandConfig, ...] = ()
    sources: tuple[SourceConfig, ...] = ()
    slack: SlackConfig = SlackConfig()
    analysis: Any = None
    pipeline: PipelineConfig = PipelineConfig()
    outbox: OutboxConfig = OutboxConfig()
    digest: DigestConfig = DigestConfig()
    dashboard: DashboardConfig = DashboardConfig()
    cases: CasesConfig = CasesConfig()
    incidents: IncidentsConfig = IncidentsConfig()
    staff: tuple[StaffMember, ...] = ()
    scheduler: SchedulerConfig = SchedulerConfig()
    retention: RetentionConfig = RetentionConfig()
    metrics: MetricsConfig = MetricsConfig()
    logging: LoggingConfig = LoggingConfig()
    health: HealthConfig = HealthConfig()
    reply: ReplyConfig = ReplyConfig()
    config_path: Path | None = None

    def analysis_settings(self) -> AnalysisSettings:
        return self.analysis if isinstance(self.analysis, AnalysisSettings) else AnalysisSettings()

    def brand(self, name: str | None) -> BrandConfig | None:
        return next((b for b in self.brands if b.name == name), None)


# ---------------------------------------------------------------- loading


def resolve_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The config file to use: ``--config``, else ``$GRIPEWATCH_CONFIG``, else ./config.yaml."""
    return Path(explicit or os.environ.get(ENV_CONFIG) or DEFAULT_PATH)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read, substitute and validate a config file; raise ConfigError on any problem."""
    p = resolve_path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found (use --config or {ENV_CONFIG})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not a UTF-8 text file (byte 0x{e.object[e.start]:02x} at offset {e.start})") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config file: {e.strerror or e.__class__.__name__}") from None
    return parse_settings(text, p)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (not "last wins")."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` merges may be overridden on purpose
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line)
            except TypeError:  # an unhashable key: the constructor below says so
                continue
            if first != key_node.start_mark.line:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {first + 1})", key_node.start_mark
                )
        return super().construct_mapping(node, deep)


def parse_settings(text: str, path: Path) -> Settings:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    _check_env_only(data, path)
    missing: dict[str, str] = {}
    data = _substitute(data, "", missing)
    base = path.resolve().parent
    data = _resolve_relative(data, base)
    try:
        settings = Settings.model_validate({**_split_sources(data), "config_path": path})
    except ValidationError as e:
        raise ConfigError(_describe(e, path, missing)) from None
    settings = _validate_parts(settings, data, base, path, missing)
    _check_secrets(settings, path, missing)
    return settings


def _check_env_only(data: dict[str, Any], path: Path) -> None:
    """Posting credentials are ``${ENV}`` references: a secret written into the file is refused."""
    reply = data.get("reply")
    if not isinstance(reply, dict):
        return
    for platform, keys in REPLY_SECRETS.items():
        section = reply.get(platform)
        for key in keys if isinstance(section, dict) else ():
            value = section.get(key)  # type: ignore[union-attr]
            if value is not None and not (isinstance(value, str) and _REF.search(value)):
                raise ConfigError(f"{path}: reply.{platform}.{key}: must be an ${{ENV_VAR}} reference, not a value")


def _substitute(node: Any, where: str, missing: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, f"{where}.{k}" if where else str(k), missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, f"{where}[{i}]", missing) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:
        unset = [m.group(1) for m in _REF.finditer(node) if m.group(2) is None and m.group(1) not in os.environ]
        if unset:
            missing[where] = unset[0]
            return None
        return _REF.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), node)
    return node


def _resolve_relative(data: dict[str, Any], base: Path) -> dict[str, Any]:
    db = data.get("database")
    if db is None or (isinstance(db, dict) and "url" not in db):  # the default SQLite file: beside the config too
        db = {**(db or {}), "url": DatabaseConfig.model_fields["url"].default}
        data = {**data, "database": db}
    if isinstance(db, dict) and isinstance(db.get("url"), str):
        url = db["url"]
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////") and url[len(prefix) :] not in ("", ":memory:"):
            rel = url[len(prefix) :]
            if not Path(rel).is_absolute():
                db = {**db, "url": prefix + str(base / rel)}
                data = {**data, "database": db}
    return data


def _split_sources(data: dict[str, Any]) -> dict[str, Any]:
    """Move each source's type-specific keys under ``options`` (validated later by its collector)."""
    sources = data.get("sources")
    if not isinstance(sources, list):
        return data
    base_keys = set(SourceConfig.model_fields) - {"options"}
    split = [
        {
            **{k: v for k, v in s.items() if k in base_keys},
            "options": {k: v for k, v in s.items() if k not in base_keys},
        }
        if isinstance(s, dict)
        else s
        for s in sources
    ]
    return {**data, "sources": split}


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(e: ValidationError, path: Path, missing: dict[str, str], prefix: str = "") -> str:
    err = e.errors(include_url=False)[0]
    key = (prefix + _loc(tuple(err["loc"]))).rstrip(".")  # a whole-entry check has no key of its own
    if key in missing:
        return f"{path}: {key}: environment variable {missing[key]} is not set"
    if err["type"] == "extra_forbidden":
        return f"{path}: {key}: unknown key"
    if err["type"] == "missing":
        return f"{path}: {key}: required key is missing"
    return f"{path}: {key}: {err['msg']}"


def _validate_parts(
    settings: Settings, data: dict[str, Any], base: Path, path: Path, missing: dict[str, str]
) -> Settings:
    """Validate the parts whose schema lives elsewhere: analysis and each source's options."""
    raw_analysis = data.get("analysis") or {}
    if not isinstance(raw_analysis, dict):
        raise ConfigError(f"{path}: analysis: must be a mapping")
    known = {f.name for f in dataclasses.fields(AnalysisSettings)}
    for k in raw_analysis:
        if k not in known:
            raise ConfigError(f"{path}: analysis.{k}: unknown key")
    try:  # no analysis section (the usual case): the defaults, without building a validator for them
        checked = TypeAdapter(AnalysisSettings).validate_python(raw_analysis) if raw_analysis else None
        analysis = AnalysisSettings.from_mapping({k: getattr(checked, k) for k in raw_analysis})
    except ValidationError as e:
        raise ConfigError(_describe(e, path, missing, "analysis.")) from None
    except ValueError as e:
        raise ConfigError(f"{path}: analysis: {e}") from None

    names: set[str] = set()
    brands = {b.name for b in settings.brands}
    sources = []
    for i, src in enumerate(settings.sources):
        where = f"sources[{i}]"
        if src.name in names:
            raise ConfigError(f"{path}: {where}.name: duplicate source name {src.name!r}")
        names.add(src.name)
        if src.brand is not None and src.brand not in brands:
            raise ConfigError(f"{path}: {where}.brand: no brand named {src.brand!r} in brands")
        cls = REGISTRY.get(src.type)
        if cls is None:
            raise ConfigError(
                f"{path}: {where}.type: unknown source type {src.type!r} (known: {', '.join(sorted(REGISTRY))})"
            )
        try:
            options = cls.Options.model_validate(src.options or {}, context={"base": base})
        except ValidationError as e:
            raise ConfigError(_describe(e, path, missing, f"{where}.")) from None
        sources.append(src.model_copy(update={"options": options}))
    names_b = [b.name for b in settings.brands]
    if len(set(names_b)) != len(names_b):
        raise ConfigError(f"{path}: brands: two brands share a name")
    return settings.model_copy(update={"analysis": analysis, "sources": tuple(sources)})


def _check_secrets(settings: Settings, path: Path, missing: dict[str, str]) -> None:
    needed = set()
    if settings.slack.mode == "api":
        needed.add("slack.token")
        if settings.slack.token is None and "slack.token" not in missing:
            raise ConfigError(f"{path}: slack.token: required when slack.mode is api")
    for i, src in enumerate(settings.sources):
        for key in getattr(src.options, "required_secrets", lambda: ())():
            needed.add(f"sources[{i}].{key}")
    for key in sorted(needed & missing.keys()):
        raise ConfigError(f"{path}: {key}: environment variable {missing[key]} is not set")


def settings_from_dict(data: dict[str, Any], path: Path | str = "<dict>") -> Settings:
    """Validate a mapping (tests, the embedded demo) exactly as a file would be."""
    return parse_settings(yaml.safe_dump(data), Path(path))
