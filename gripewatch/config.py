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

from analysis import AnalysisSettings
from gripewatch.errors import ConfigError

DEFAULT_PATH = "config.yaml"
ENV_CONFIG = "GRIPEWATCH_CONFIG"
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(Strict):
    url: str = "sqlite:///gripewatch.db"
    pool_size: int = Field(5, ge=1)
    max_overflow: int = Field(10, ge=0)


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


class SlackConfig(Strict):
    mode: Literal["console", "api"] = "console"
    token: SecretStr | None = None
    base_url: str = "https://slack.com/api/"
    channels: SlackChannels = SlackChannels()
    timeout_seconds: float = Field(10.0, gt=0)


class OutboxConfig(Strict):
    max_attempts: int = Field(20, ge=1)
    backoff_seconds: float = Field(5.0, gt=0)
    max_backoff_seconds: float = Field(600.0, gt=0)


class PipelineConfig(Strict):
    batch_size: int = Field(200, ge=1, le=10_000)
    lease_seconds: int = Field(300, ge=10)


class HealthConfig(Strict):
    """When a source's health raises an operations alert (``gripewatch sources`` shows it)."""

    alert_after_failures: int = Field(1, ge=1)  # failed runs in a row (after retries) that make an incident
    silence_factor: float = Field(6.0, gt=1)  # silent: no mention for this many times the usual gap …
    min_silence_hours: float = Field(6.0, gt=0)  # … and at least this long
    baseline_days: int = Field(7, ge=1)  # the usual rate is measured over this many days
    min_baseline_mentions: int = Field(20, ge=1)  # fewer mentions in the baseline: no silence alerts


class Settings(Strict):
    database: DatabaseConfig = DatabaseConfig()
    brands: tuple[BrandConfig, ...] = ()
    sources: tuple[SourceConfig, ...] = ()
    slack: SlackConfig = SlackConfig()
    analysis: Any = None
    pipeline: PipelineConfig = PipelineConfig()
    outbox: OutboxConfig = OutboxConfig()
    health: HealthConfig = HealthConfig()
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
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read config file: {e.__class__.__name__}") from None
    return parse_settings(text, p)


def parse_settings(text: str, path: Path) -> Settings:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
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
    key = prefix + _loc(tuple(err["loc"]))
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
    from collectors import REGISTRY  # late: collectors import config types

    raw_analysis = data.get("analysis") or {}
    if not isinstance(raw_analysis, dict):
        raise ConfigError(f"{path}: analysis: must be a mapping")
    known = {f.name for f in dataclasses.fields(AnalysisSettings)}
    for k in raw_analysis:
        if k not in known:
            raise ConfigError(f"{path}: analysis.{k}: unknown key")
    try:
        analysis = TypeAdapter(AnalysisSettings).validate_python(raw_analysis)
    except ValidationError as e:
        raise ConfigError(_describe(e, path, missing, "analysis.")) from None

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
