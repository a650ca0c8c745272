"""Fake Reddit OAuth API: ``/api/v1/access_token`` and ``/r/:sub/comments`` listings with ``before``."""

from __future__ import annotations

from typing import Any

from tests.fakes.platform import FakePlatform, Post, Reply


class FakeReddit(FakePlatform):
    def auth(self, method: str, path: str, query: dict[str, str], body: str) -> Reply | None:
        if path == "/api/v1/access_token":
            return Reply(body={"access_token": "fake-token", "token_type": "bearer", "expires_in": 86400, "scope": "*"})
        return None

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        assert path.rstrip("/").endswith("/comments"), path
        posts = self.posts
        limit = min(int(query.get("limit", 25)), 100)
        if query.get("before"):
            known = [p for p in posts if self.fullname(p) == query["before"]]
            newer = [p for p in posts if known and p.n > known[0].n]
            chunk = newer[:limit]  # the items immediately after "before"
        else:
            chunk = posts[-limit:]
        children = [{"kind": "t1", "data": self.comment(p)} for p in reversed(chunk)]
        return Reply(
            body={
                "kind": "Listing",
                "data": {"after": None, "before": None, "dist": len(children), "children": children},
            }
        )

    @staticmethod
    def fullname(p: Post) -> str:
        return f"t1_k{p.n:05d}"

    def comment(self, p: Post) -> dict[str, Any]:
        c: dict[str, Any] = {
            "id": f"k{p.n:05d}",
            "name": self.fullname(p),
            "body": p.text,
            "author": p.author,
            "author_fullname": f"t2_{p.author}",
            "created_utc": p.at.timestamp(),
            "permalink": f"/r/acme/comments/abc/x/k{p.n:05d}/",
            "link_id": "t3_abc",
            "parent_id": "t3_abc",
            "subreddit": "acme",
            "edited": False,
            **p.extra,
        }
        if p.malformed:
            del c["created_utc"]
        return c

    def ids(self) -> list[str]:
        return [self.fullname(p) for p in self.posts if not p.malformed]
