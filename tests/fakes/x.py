"""Fake X API v2 (``/2/tweets/search/recent``, ``/2/users/:id/mentions``) in the documented shape,
with ``expansions=author_id`` → ``includes.users`` and ``public_metrics``."""

from __future__ import annotations

from typing import Any

from tests.fakes.platform import FakePlatform, Post, Reply

EPOCH_MS = 1288834974657


class FakeX(FakePlatform):
    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        assert path == "/2/tweets/search/recent" or path.endswith("/mentions"), path
        if not headers.get("Authorization", "").startswith("Bearer "):
            return Reply(401, {"title": "Unauthorized", "status": 401})
        tweets = list(reversed(self.posts))
        if query.get("since_id"):
            tweets = [p for p in tweets if self.tid(p) > int(query["since_id"])]
        limit = min(int(query.get("max_results", 10)), self.page_cap)
        offset = int(query.get("next_token") or query.get("pagination_token") or 0)
        chunk = tweets[offset : offset + limit]
        if not chunk:
            return Reply(body={"meta": {"result_count": 0}})
        meta: dict[str, Any] = {
            "newest_id": str(self.tid(chunk[0])),
            "oldest_id": str(self.tid(chunk[-1])),
            "result_count": len(chunk),
        }
        if offset + limit < len(tweets):
            meta["next_token"] = str(offset + limit)
        users = {p.author: self.user(p.author) for p in chunk}
        return Reply(
            body={"data": [self.tweet(p) for p in chunk], "includes": {"users": list(users.values())}, "meta": meta}
        )

    @staticmethod
    def tid(p: Post) -> int:
        return (int(p.at.timestamp() * 1000) - EPOCH_MS) << 22

    @staticmethod
    def user(handle: str) -> dict[str, Any]:
        return {
            "id": str(900 + len(handle)),
            "username": handle,
            "name": handle.title(),
            "public_metrics": {"followers_count": 1200, "following_count": 10, "tweet_count": 500, "listed_count": 1},
        }

    def tweet(self, p: Post) -> dict[str, Any]:
        t: dict[str, Any] = {
            "id": str(self.tid(p)),
            "text": p.text,
            "author_id": self.user(p.author)["id"],
            "created_at": p.at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "conversation_id": str(self.tid(p)),
            "lang": "en",
            "edit_history_tweet_ids": [str(self.tid(p))],
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 1, "quote_count": 0},
            **p.extra,
        }
        if p.malformed:
            del t["id"]
        return t

    def ids(self) -> list[str]:
        return [str(self.tid(p)) for p in self.posts if not p.malformed]
