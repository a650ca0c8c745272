"""Fake Google Play Developer API: ``reviews.list`` and a service account token endpoint.

``GET /androidpublisher/v3/applications/{package}/reviews`` (Bearer token, ``maxResults``,
``token``) lists reviews by last change, newest first, in the documented shape (``comments``
holding a ``userComment`` and maybe a ``developerComment``). ``POST /token`` exchanges a
service account's signed JWT (checked against ``public_key`` when set) for an access token.
``extra`` may set ``rating`` (default 1), ``version``; ``edit`` and ``reply_as_brand`` change a review.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from datetime import timedelta
from typing import Any

from tests.fakes.platform import T0, FakePlatform, Post, Reply

PACKAGE = "com.acme.home"
TOKEN = "ya29.test-play-token"


class FakeGooglePlay(FakePlatform):
    public_key: Any = None  # cryptography RSA public key: JWT signatures are verified when set

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: str) -> Reply:
        if method == "POST" and path == "/token":
            return self.token(body)
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return Reply(
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials.",
                        "status": "UNAUTHENTICATED",
                    }
                },
            )
        return super().route(method, path, query, headers, body)

    def token(self, body: str) -> Reply:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body).items()}
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        head, claims, sig = form["assertion"].split(".")
        payload = json.loads(_unb64(claims))
        assert payload["scope"] == "https://www.googleapis.com/auth/androidpublisher" and payload["aud"].endswith(
            "/token"
        )
        if self.public_key is not None:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding

            try:
                self.public_key.verify(_unb64(sig), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                return Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        return Reply(body={"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if path != f"/androidpublisher/v3/applications/{PACKAGE}/reviews":
            return Reply(404, {"error": {"code": 404, "message": "Package not found", "status": "NOT_FOUND"}})
        reviews = sorted(self.posts, key=self.changed, reverse=True)
        per = min(int(query.get("maxResults", 100)), self.page_cap)
        start = int(query.get("token") or 0)
        body: dict[str, Any] = {"reviews": [self.review(p) for p in reviews[start : start + per]]}
        if start + per < len(reviews):
            body["tokenPagination"] = {"nextPageToken": str(start + per)}
        return Reply(body=body)

    def changed(self, p: Post) -> Any:
        return max(self.user_at(p), self.reply_at(p) or T0)

    def user_at(self, p: Post) -> Any:
        if p.when is not None and "edited" not in p.extra:
            return p.when  # a broken date, as a platform may send
        return T0 + timedelta(minutes=p.extra.get("edited", p.n))

    def reply_at(self, p: Post) -> Any:
        return T0 + timedelta(minutes=p.extra["replied"]) if "replied" in p.extra else None

    def rid(self, p: Post) -> str:
        return f"gp:AOqpTOAcme{p.n:04d}"

    def review(self, p: Post) -> dict[str, Any]:
        user: dict[str, Any] = {
            "text": f"\t{p.extra.get('message', p.text)}",
            "lastModified": _ts(self.user_at(p)),
            "starRating": p.extra.get("rating", 1),
            "reviewerLanguage": "en_GB",
            "device": "a52q",
            "androidOsVersion": 34,
            "appVersionCode": 421,
            "appVersionName": p.extra.get("version", "4.2.1"),
            "thumbsUpCount": 0,
            "thumbsDownCount": 0,
            "deviceMetadata": {"productName": "a52q (Galaxy A52)", "manufacturer": "Samsung", "ramMb": 6144},
        }
        if p.malformed:
            del user["lastModified"]
        comments: list[dict[str, Any]] = [{"userComment": user}]
        if "reply" in p.extra:
            comments.append({"developerComment": {"text": p.extra["reply"], "lastModified": _ts(self.reply_at(p))}})
        return {"reviewId": self.rid(p), "authorName": p.author, "comments": comments}

    def edit(self, post: Post, text: str) -> None:
        post.extra.update(message=text, edited=len(self.posts) + 1)

    def reply_as_brand(self, post: Post, text: str) -> Post:
        post.extra.update(reply=text, replied=len(self.posts) + 1)
        return post

    def ids(self) -> list[str]:
        return [self.rid(p) for p in self.posts if not p.malformed]


def _ts(at: Any) -> dict[str, Any]:
    return {"seconds": str(int(at.timestamp())), "nanos": 0}


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
