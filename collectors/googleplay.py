"""Google Play reviews of the brand's own app: the Play Developer API ``reviews.list`` (httpx).

Why not a scraper such as google-play-scraper: it reads Play's undocumented web RPC from a
hard-coded ``https://play.google.com`` with urllib, so it can be pointed neither at a proxy nor
at a test server, and it breaks whenever that page changes. The Developer API is documented,
authenticated and stable; it needs the app owner's service account (Play Console → API access,
"View app information"), which a brand monitoring its own app has.

``reviews.list`` returns the reviews created or changed in the last week, paged with
``tokenPagination``. The cursor keeps, for each review (and for the developer's reply to it),
the ``lastModified`` time it was collected at: a review seen before with a later time is an
edit, the developer's reply is the brand's own (``is_own``) answer to the review. Rating, app
version and text are kept; a review at or below ``complaint_max_rating`` stars is a complaint
candidate whatever the model says. Deleted reviews are not reported by the API.

Credentials: ``service_account_file`` (a JSON key; a token is obtained from its ``token_uri``
with a signed JWT) or ``access_token`` (``${PLAY_ACCESS_TOKEN}``, e.g. from workload identity).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from gripewatch.collectors.base import Edge, Mention, NetworkOptions, Page, Rejected, parse_time
from gripewatch.collectors.bounds import watermark
from gripewatch.config import SourceConfig
from gripewatch.errors import SourceError

API = "https://androidpublisher.googleapis.com/"
SCOPE = "https://www.googleapis.com/auth/androidpublisher"
KEEP = timedelta(days=8)  # reviews.list covers one week: older bookkeeping is dropped


class GooglePlayOptions(NetworkOptions):
    package_name: str = Field(pattern=r"^[A-Za-z][\w]*(\.[A-Za-z][\w]*)+$")
    service_account_file: Path | None = None
    access_token: SecretStr | None = None
    translation_language: str | None = None  # e.g. "en": reviews translated by Google, originals kept in raw
    complaint_max_rating: int = Field(2, ge=0, le=5)
    requests_per_15min: int = Field(50, ge=1)  # Play Developer API reviews: 200 GET requests per hour
    page_size: int = Field(100, ge=1, le=100)

    @field_validator("service_account_file")
    @classmethod
    def _relative_to_config(cls, v: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base")
        return v if v is None or v.is_absolute() or base is None else Path(base) / v

    @model_validator(mode="before")
    @classmethod
    def _a_credential(cls, data: Any) -> Any:
        if isinstance(data, dict) and "service_account_file" not in data and "access_token" not in data:
            raise ValueError("set service_account_file (a service account's JSON key) or access_token")
        return data

    def required_secrets(self) -> tuple[str, ...]:
        return () if self.service_account_file is not None else ("access_token",)


class GooglePlayCollector:
    Options = GooglePlayOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: GooglePlayOptions = source.options
        self.edge = Edge(source.name, self.opts)

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        return {"since": since.timestamp()}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        now = self.edge.now()
        state: dict[str, Any] = {"seen": dict(cursor.get("seen") or {})}
        if "since" in cursor or not cursor.get("seen"):  # until the first full read: only reviews since then
            state["since"] = cursor.get("since", (now - timedelta(hours=self.opts.first_run_hours)).timestamp())
        since = state.get("since", 0.0)
        last = cursor
        horizon = (now - KEEP).timestamp()
        base = (self.opts.base_url or API).rstrip("/") + "/"
        with httpx.Client(base_url=base, timeout=self.opts.timeout_seconds) as http:
            headers = {"User-Agent": self.opts.user_agent, "Authorization": f"Bearer {self._token(http)}"}
            path = f"androidpublisher/v3/applications/{self.opts.package_name}/reviews"
            token: str | None = None
            while True:
                params: dict[str, Any] = {"maxResults": self.opts.page_size}
                if token:
                    params["token"] = token
                if self.opts.translation_language:
                    params["translationLanguage"] = self.opts.translation_language
                body = self.edge.call("reviews.list", _get, http, path, params, headers)
                mentions, rejected = self._page(body.get("reviews") or [], state["seen"], since)
                state["seen"] = {k: v for k, v in state["seen"].items() if v >= horizon}
                token = (body.get("tokenPagination") or {}).get("nextPageToken")
                if not token:
                    state.pop("since", None)  # the whole week has been read once
                if mentions or rejected or state != last:
                    last = {"seen": dict(state["seen"]), **({"since": since} if "since" in state else {})}
                    yield Page(mentions, last, rejected)
                if not token:
                    return

    def _page(self, reviews: list[Any], seen: dict[str, float], since: float) -> tuple[list[Mention], list[Rejected]]:
        mentions, rejected = [], []
        for review in reviews:
            try:
                rid = str(review["reviewId"])
                parts = [c for c in review["comments"] if isinstance(c, dict)]
                user = next(c["userComment"] for c in parts if "userComment" in c)
                dev = next((c["developerComment"] for c in parts if "developerComment" in c), None)
                for key, comment, own in ((rid, user, False), (f"{rid}/reply", dev, True)):
                    if comment is None:
                        continue
                    at = watermark(_seconds(comment["lastModified"]))  # a broken date is rejected, never seen
                    if seen.get(key) == at:
                        continue
                    if at >= since or key in seen:
                        mentions.append(self._mention(review, comment, key, at, own, edited=key in seen))
                    seen[key] = at
            except (KeyError, TypeError, ValueError, AttributeError, StopIteration) as e:
                bad = str(review["reviewId"]) if isinstance(review, dict) and review.get("reviewId") else None
                rejected.append(Rejected(f"review {bad}: {e.__class__.__name__}: {str(e)[:120]}", review, bad))
        return sorted(mentions, key=lambda m: m.created_at), rejected

    def normalise(self, raw: dict[str, Any]) -> Mention:
        """One review's user comment, as kept in ``raw``."""
        user = next(c["userComment"] for c in raw["comments"] if isinstance(c, dict) and "userComment" in c)
        return self._mention(raw, user, str(raw["reviewId"]), _seconds(user["lastModified"]), False, edited=False)

    def _mention(
        self, review: dict[str, Any], comment: dict[str, Any], key: str, at: float, own: bool, edited: bool
    ) -> Mention:
        text = str(comment["text"]).replace("\t", "\n").strip()  # a title and body are joined by a tab
        if not text:
            raise ValueError("no text")
        rid = str(review["reviewId"])
        rating = None if own else int(comment["starRating"])
        if rating is not None and not 1 <= rating <= 5:
            raise ValueError(f"rating {rating} is not 1-5")
        return Mention(
            platform="googleplay",
            external_id=key,
            text=text,
            created_at=parse_time(at),
            url=f"https://play.google.com/store/apps/details?id={self.opts.package_name}&reviewId={rid}",
            author_key=None if own else f"review:{rid}",  # one review per user and app: the review is its author
            author_handle=self.opts.package_name if own else review.get("authorName") or "A Google user",
            author_name=None if own else review.get("authorName"),
            lang=None if own else (comment.get("reviewerLanguage") or "").split("_")[0] or None,
            conversation_id=rid,
            in_reply_to=rid if own else None,
            raw=review,
            is_own=own,
            edited=edited,
            rating=rating,
        )

    # ------------------------------------------------------------ credentials

    def _token(self, http: httpx.Client) -> str:
        if self.opts.service_account_file is None:
            if self.opts.access_token is None:
                raise SourceError("googleplay: no access_token and no service_account_file")
            return self.opts.access_token.get_secret_value()
        try:
            key = json.loads(self.opts.service_account_file.read_text(encoding="utf-8"))
            email, pem, uri = key["client_email"], key["private_key"], key.get("token_uri")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SourceError(
                f"{self.opts.service_account_file}: not a service account key ({e.__class__.__name__})"
            ) from None
        uri = uri or "https://oauth2.googleapis.com/token"
        assertion = _jwt(email, pem, uri, int(time.time()))
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
        body = self.edge.call("oauth token", _post_form, http, uri, form)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise SourceError("service account token exchange returned no access_token")
        return token


def _jwt(email: str, pem: str, audience: str, now: int) -> str:
    """A service account's signed assertion (RS256), as Google's OAuth server expects it."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    def part(obj: dict[str, Any]) -> str:
        return _b64(json.dumps(obj, separators=(",", ":")).encode())

    claims = {"iss": email, "scope": SCOPE, "aud": audience, "iat": now, "exp": now + 3600}
    signing_input = f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}"
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise SourceError("service account key is not an RSA key")
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _get(http: httpx.Client, path: str, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    r = http.get(path, params=params, headers=headers)
    r.raise_for_status()
    body = r.json()
    if not isinstance(body, dict):
        raise SourceError(f"{path}: response is not a JSON object")
    return body


def _post_form(http: httpx.Client, url: str, form: dict[str, str]) -> dict[str, Any]:
    r = http.post(url, data=form)
    r.raise_for_status()
    body = r.json()
    return body if isinstance(body, dict) else {}


def _seconds(ts: dict[str, Any]) -> float:
    return int(ts["seconds"]) + int(ts.get("nanos", 0)) / 1e9
