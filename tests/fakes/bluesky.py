"""Fake Bluesky PDS/AppView: ``com.atproto.server.createSession`` and ``app.bsky.feed.searchPosts``."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from gripewatch.collectors.base import parse_time
from tests.fakes.platform import FakePlatform, Post, Reply

DID = "did:plc:fakesearcher0000000000000"


def _jwt(kind: str) -> str:
    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    claims = {"scope": kind, "sub": DID, "iat": int(time.time()), "exp": int(time.time()) + 7200}
    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}.c2lnbmF0dXJl"


class FakeBluesky(FakePlatform):
    logins = 0

    def auth(self, method: str, path: str, query: dict[str, str], body: str) -> Reply | None:
        if path == "/xrpc/com.atproto.server.createSession":
            self.logins += 1
            args = json.loads(body or "{}")
            if args.get("password") != "app-pass-1234":
                return Reply(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
            return Reply(
                body={
                    "accessJwt": _jwt("com.atproto.access"),
                    "refreshJwt": _jwt("com.atproto.refresh"),
                    "handle": args.get("identifier"),
                    "did": DID,
                    "active": True,
                }
            )
        return None

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        assert path == "/xrpc/app.bsky.feed.searchPosts", path
        if not headers.get("Authorization", "").startswith("Bearer "):
            return Reply(401, {"error": "AuthMissing"})
        posts = list(reversed(self.posts))
        if query.get("since"):
            since = parse_time(query["since"])
            posts = [p for p in posts if p.at >= since]
        limit = min(int(query.get("limit", 25)), self.page_cap)
        offset = int(query.get("cursor", 0))
        chunk = posts[offset : offset + limit]
        body: dict[str, Any] = {"posts": [self.post(p) for p in chunk], "hitsTotal": len(posts)}
        if offset + limit < len(posts):
            body["cursor"] = str(offset + limit)
        return Reply(body=body)

    def uri(self, p: Post) -> str:
        return f"at://did:plc:{p.author:0<24}/app.bsky.feed.post/3kfake{p.n:06d}"

    def post(self, p: Post) -> dict[str, Any]:
        at = p.at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        record = {"$type": "app.bsky.feed.post", "text": p.text, "createdAt": at, "langs": ["en"]}
        if p.malformed:
            del record["text"]
        return {
            "uri": self.uri(p),
            "cid": f"bafyreifake{p.n:06d}",
            "author": {"did": f"did:plc:{p.author:0<24}", "handle": f"{p.author}.bsky.social", "displayName": p.author},
            "record": record,
            "indexedAt": at,
            "replyCount": 0,
            "repostCount": 0,
            "likeCount": 0,
            "labels": [],
        }

    def ids(self) -> list[str]:
        return [self.uri(p) for p in self.posts if not p.malformed]
