"""The Meta Graph API plumbing shared by the ``facebook`` and ``instagram`` collectors.

:class:`Graph` makes every call through the source's :class:`~gripewatch.collectors.base.Edge`
and reads what Graph says about limits:

* Throttling is an HTTP 400/403 whose ``error.code`` is 4, 17, 32, 613 or 80000-80014 (Business
  Use Case limits), not a 429. It is a :class:`RateLimited` until the reset given by
  ``x-business-use-case-usage`` (``estimated_time_to_regain_access``, minutes), else 15 minutes.
* The usage headers (``x-app-usage``, ``x-business-use-case-usage``, ``x-page-usage``) say how
  much of the hourly allowance is used, in percent. At ``max_usage_percent`` or more the next
  call stops the run cleanly (a RateLimited) before Meta throttles the app.
* ``recheck(ids, fields)``: one batch request (up to 50 reads) for items collected earlier: an
  item answered 404, or ``error.code`` 100 / subcode 33 ("does not exist"), is gone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import Field, SecretStr

from gripewatch.collectors.base import Edge, Mention, NetworkOptions, Rejected, TransientError, parse_time
from gripewatch.collectors.bounds import watermark
from gripewatch.errors import RateLimited, SourceError

API = "https://graph.facebook.com"
THROTTLED = {4, 17, 32, 613, *range(80000, 80015)}
USAGE_HEADERS = ("x-app-usage", "x-business-use-case-usage", "x-page-usage")
BATCH = 50  # Graph's limit of requests in one batch
DEFAULT_PAUSE = timedelta(minutes=15)


class GraphOptions(NetworkOptions):
    """Keys shared by the Meta collectors."""

    access_token: SecretStr  # a Page access token (${META_PAGE_TOKEN})
    api_version: str = Field("v21.0", pattern=r"^v\d+\.\d+$")
    max_usage_percent: float = Field(90.0, gt=0, le=100)  # stop before Meta throttles the app
    posts_lookback_days: float = Field(7.0, gt=0)  # posts/media this recent are watched for new comments
    recheck_hours: float = Field(48.0, ge=0)  # items this recent are re-read for edits and deletions
    requests_per_15min: int = Field(150, ge=1)  # Pages/Instagram BUC: 4,800 calls × engaged users per 24 h
    page_size: int = Field(100, ge=1, le=100)

    def required_secrets(self) -> tuple[str, ...]:
        return ("access_token",)


class Graph:
    """An httpx client for ``{base_url}/{api_version}/`` whose calls go through ``edge``."""

    def __init__(self, edge: Edge, opts: GraphOptions) -> None:
        self.edge, self.opts = edge, opts
        self.base = (opts.base_url or API).rstrip("/")
        self.http = httpx.Client(
            base_url=f"{self.base}/{opts.api_version}/",
            timeout=opts.timeout_seconds,
            headers={"User-Agent": opts.user_agent},
        )
        self.token = opts.access_token.get_secret_value()
        self.usage = 0.0
        self.pause: datetime | None = None  # set when usage reached max_usage_percent
        self.usage_reset: datetime | None = None

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET a Graph object or edge page (errors classified for the edge)."""
        return self.edge.call(path.split("/")[-1] or path, self._get, path, params)

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """The ``data`` of each page of an edge, following ``paging.cursors.after``."""
        params = dict(params)
        while True:
            body = self.get(path, params)
            data = body.get("data")
            if not isinstance(data, list):
                raise SourceError(f"{path}: response has no data list")
            yield data
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not data or not after or not paging.get("next"):
                return
            params["after"] = after

    def recheck(self, ids: list[str], fields: str) -> dict[str, dict[str, Any] | None]:
        """Re-read items in batches: id → current object, or None when Graph says it is gone.

        Items whose read failed otherwise (a timeout inside the batch) are left out.
        """
        out: dict[str, dict[str, Any] | None] = {}
        for i in range(0, len(ids), BATCH):
            chunk = ids[i : i + BATCH]
            for _ in chunk[1:]:
                self.edge.charge()  # Meta counts every request of a batch
            answers = self.edge.call("batch", self._batch, chunk, fields)
            for oid, answer in zip(chunk, answers, strict=False):
                if not isinstance(answer, dict):
                    continue
                body = _json(answer.get("body"))
                code = answer.get("code")
                if code == 200 and isinstance(body, dict):
                    out[oid] = body
                elif code == 404 or _gone(body):
                    out[oid] = None
        return out

    # ------------------------------------------------------------ one HTTP call

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        self._check_pause()
        r = self.http.get(path.lstrip("/"), params={**params, "access_token": self.token})
        body: dict[str, Any] = self._read(r, path)
        return body

    def _batch(self, ids: list[str], fields: str) -> list[Any]:
        self._check_pause()
        batch = [{"method": "GET", "relative_url": f"{self.opts.api_version}/{i}?fields={fields}"} for i in ids]
        r = self.http.post(
            f"{self.base}/",
            data={"batch": json.dumps(batch), "include_headers": "false", "access_token": self.token},
        )
        answers: list[Any] = self._read(r, "batch", expect=list)
        return answers

    def _check_pause(self) -> None:
        if self.pause is not None:
            reset, self.pause = self.pause, None  # once: if the edge sleeps it through, go on
            raise RateLimited(f"Graph usage at {self.usage:.0f}% of the allowance", reset)

    def _read(self, r: httpx.Response, what: str, expect: type = dict) -> Any:
        self._note_usage(r.headers)
        try:
            body = r.json()
        except ValueError:
            body = None
        if r.status_code >= 400 or (isinstance(body, dict) and "error" in body):
            raise self._error(r, body, what)
        if not isinstance(body, expect):
            raise SourceError(f"Graph {what}: unexpected response ({type(body).__name__})")
        return body

    def _error(self, r: httpx.Response, body: Any, what: str) -> SourceError:
        err: dict[str, Any] = body["error"] if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
        code = err.get("code")
        msg = f"Graph {what}: HTTP {r.status_code} code {code}: {str(err.get('message', ''))[:160]}"
        if code in THROTTLED or r.status_code == 429:
            self.pause = None  # this error is the stop; no second one on the retry
            return RateLimited(msg, self.usage_reset or self.edge.now() + DEFAULT_PAUSE)
        if r.status_code >= 500 or code in (1, 2) or err.get("is_transient"):
            return TransientError(msg)
        return SourceError(msg)

    def _note_usage(self, headers: httpx.Headers) -> None:
        usage, regain = usage_of(headers)
        self.usage = usage
        self.usage_reset = self.edge.now() + timedelta(minutes=regain) if regain else None
        if usage >= self.opts.max_usage_percent:
            self.pause = self.usage_reset or self.edge.now() + DEFAULT_PAUSE


# ---------------------------------------------------------------- the cursor's bookkeeping
#
# ``state["recent"]``: id → [created epoch, digest of text and visibility, kind, container id] of
# what was collected in the last ``recheck_hours``; a container's ``{"mark", "at"}``: the newest
# item time collected under it and the ids at that time.

MAX_RECENT = 1000
Normalise = Callable[[dict[str, Any], str, bool], Mention]


def remember(state: dict[str, Any], oid: str, t: float, text: Any, kind: str, container: str) -> None:
    recent = state.setdefault("recent", {})
    recent[oid] = [t, digest(text), kind, container]
    if len(recent) > MAX_RECENT:
        for k in sorted(recent, key=lambda k: recent[k][0])[: len(recent) - MAX_RECENT]:
            del recent[k]


def recheck_recent(
    graph: Graph,
    state: dict[str, Any],
    horizon: float,
    fields: dict[str, str],
    text_key: dict[str, str],
    hidden_key: str,
    normalise: Normalise,
    gone: Callable[[str, float, str], Mention],
) -> list[Mention]:
    """Re-read the recent items of each kind: deletions (gone or hidden) and edits (text changed).

    ``state["recent"]`` is updated when something changed (expired entries dropped with it).
    """
    recent = {k: v for k, v in state.get("recent", {}).items() if v[0] >= horizon}
    out: list[Mention] = []
    for kind, kind_fields in fields.items():
        ids = [k for k, v in recent.items() if v[2] == kind]
        for oid, body in graph.recheck(ids, kind_fields).items() if ids else ():
            t, old, _, container = recent[oid]
            if body is None or body.get(hidden_key):
                out.append(gone(oid, t, container))
                del recent[oid]
            elif digest(body.get(text_key[kind])) != old:
                try:
                    out.append(normalise(body, container, True))
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue
                recent[oid] = [t, digest(body.get(text_key[kind])), kind, container]
    if out:
        state["recent"] = recent
    return out


def newer_than(
    items: list[Any],
    watch: dict[str, Any],
    time_key: str,
    normalise: Callable[[dict[str, Any]], Mention],
    on_new: Callable[[str, float, dict[str, Any]], None],
) -> tuple[list[Mention], list[Rejected]]:
    """The items (any order) above a container's watermark, oldest first; the watermark moves up."""
    mark, at = watch.get("mark"), set(watch.get("at", []))
    top, top_ids = mark, set(at)
    rows = []
    rejected: list[Rejected] = []
    for raw in items:
        try:
            oid, t = str(raw["id"]), watermark(parse_time(raw[time_key]))
        except (KeyError, TypeError, ValueError) as e:
            known = str(raw["id"]) if isinstance(raw, dict) and raw.get("id") else None
            rejected.append(Rejected(f"item without id/{time_key}: {e.__class__.__name__}: {e}", raw, known))
            continue
        if mark is None or t > mark or (t == mark and oid not in at):
            rows.append((t, oid, raw))
    mentions: list[Mention] = []
    for t, oid, raw in sorted(rows, key=lambda r: (r[0], r[1])):
        if top is None or t > top:
            top, top_ids = t, {oid}
        elif t == top:
            top_ids.add(oid)
        try:
            mentions.append(normalise(raw))
            on_new(oid, t, raw)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            rejected.append(Rejected(f"{oid}: {e.__class__.__name__}: {str(e)[:120]}", raw, oid))
    watch.update(mark=top, at=sorted(top_ids))
    return mentions, rejected


def usage_of(headers: httpx.Headers | dict[str, str]) -> tuple[float, float]:
    """The highest usage percentage in Graph's usage headers, and the longest time to regain access (minutes)."""
    usage = regain = 0.0
    for name in USAGE_HEADERS:
        raw = _json(headers.get(name))
        for entry in _entries(raw):
            for key in ("call_count", "total_time", "total_cputime"):
                usage = max(usage, _num(entry.get(key)))
            regain = max(regain, _num(entry.get("estimated_time_to_regain_access")))
    return usage, regain


def digest(*parts: Any) -> str:
    """A short fingerprint of an item's text and visibility, kept in the cursor to notice edits."""
    return hashlib.sha1(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:12]


def _entries(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, dict) and any(isinstance(v, list) for v in raw.values()):  # BUC: {id: [ {...} ]}
        return [e for v in raw.values() if isinstance(v, list) for e in v if isinstance(e, dict)]
    return [raw] if isinstance(raw, dict) else []


def _gone(body: Any) -> bool:
    err = body.get("error") if isinstance(body, dict) else None
    return isinstance(err, dict) and err.get("code") == 100 and err.get("error_subcode") == 33


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0
