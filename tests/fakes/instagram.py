"""Fake Instagram Graph API: ``/{ig-user}/media``, ``/{media}/comments`` (with replies), ``/{ig-user}/tags``.

Scripting: ``add(text)`` is a comment on the account's one media (a post from before the
first comment); ``extra={"parent": n}`` makes it a reply to comment ``n``; ``extra={"tag": True}``
a post by someone else that tags the account. Author ``"acme"`` is the account itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.fakes.facebook import FakeGraph, _error, graph_time
from tests.fakes.platform import T0, Post, Reply

IG_USER_ID = "17841400000000001"
USERNAME = "acme"
MEDIA_ID = "18000000000000001"


class FakeInstagram(FakeGraph):
    throttle_code = 80002

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        parts = path.strip("/").split("/")
        if parts[1:] == [IG_USER_ID, "media"]:
            return self.paged([self.media()], query, path)
        if parts[1:] == [IG_USER_ID, "tags"]:
            tags = [self.tagged(p) for p in reversed(self.posts) if p.extra.get("tag") and self.visible(p)]
            return self.paged(tags, query, path)
        if parts[1:] == [MEDIA_ID, "comments"]:
            top = [self.comment(p) for p in self.posts if self.is_comment(p) and "parent" not in p.extra]
            return self.paged([c for c in top if c is not None], query, path)
        return Reply(400, _error(100, f"Unknown path {path}", "GraphMethodException"))

    @staticmethod
    def is_comment(p: Post) -> bool:
        return not p.extra.get("tag")

    @staticmethod
    def visible(p: Post) -> bool:
        return not p.extra.get("deleted")

    def media(self) -> dict[str, Any]:
        count = sum(1 for p in self.posts if self.is_comment(p) and self.visible(p))
        return {
            "id": MEDIA_ID,
            "caption": "Meet the new Acme kettle",
            "timestamp": graph_time(T0 - timedelta(minutes=5)),
            "permalink": "https://www.instagram.com/p/AcmeKettle1/",
            "username": USERNAME,
            "comments_count": count,
        }

    def cid(self, p: Post) -> str:
        return str(17900000000000000 + p.n)

    def comment(self, p: Post, nested: bool = True) -> dict[str, Any] | None:
        if not self.visible(p):
            return None
        own = p.author == USERNAME
        c: dict[str, Any] = {
            "id": self.cid(p),
            "text": p.text,
            "timestamp": graph_time(p.at),
            "username": p.author,
            "from": {"id": IG_USER_ID if own else str(17841499000000000 + p.n), "username": p.author},
            "hidden": bool(p.extra.get("hidden")),
            "like_count": 0,
            "media": {"id": MEDIA_ID},
        }
        if "parent" in p.extra:
            c["parent_id"] = self.cid(self.posts[p.extra["parent"] - 1])
        elif nested:
            replies = [self.comment(r, False) for r in self.posts if r.extra.get("parent") == p.n]
            if any(replies):
                c["replies"] = {"data": [r for r in replies if r is not None]}
        if p.malformed:
            del c["timestamp"]
        return c

    def tagged(self, p: Post) -> dict[str, Any]:
        m = {
            "id": str(18100000000000000 + p.n),
            "caption": p.extra.get("message", p.text),
            "timestamp": graph_time(p.at),
            "permalink": f"https://www.instagram.com/p/Tag{p.n}/",
            "username": p.author,
        }
        if p.malformed:
            del m["timestamp"]
        return m

    def object(self, oid: str) -> dict[str, Any] | None:
        for p in self.posts:
            if p.extra.get("tag") and str(18100000000000000 + p.n) == oid and self.visible(p):
                return self.tagged(p)
            if self.is_comment(p) and self.cid(p) == oid:
                return self.comment(p, False)
        return None

    def reply_as_brand(self, post: Post, text: str) -> Post:
        return self.add(text, author=USERNAME, extra={"parent": post.n})

    def ids(self) -> list[str]:
        return [
            self.cid(p) if self.is_comment(p) else str(18100000000000000 + p.n) for p in self.posts if not p.malformed
        ]
