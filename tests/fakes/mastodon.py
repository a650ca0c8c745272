"""Fake Mastodon instance: ``/api/v1/instance``, hashtag timelines and v2 search, paged with ``min_id``;
``/api/v1/statuses/:id`` answers a post still in ``posts``, else 404 (deleted)."""

from __future__ import annotations

from typing import Any

from tests.fakes.platform import FakePlatform, Post, Reply

INSTANCE = {
    "uri": "fake.social",
    "title": "fake",
    "version": "4.3.0",
    "description": "",
    "urls": {},
    "stats": {},
    "languages": ["en"],
    "contact_account": None,
}


class FakeMastodon(FakePlatform):
    def auth(self, method: str, path: str, query: dict[str, str], body: str) -> Reply | None:
        if path.rstrip("/") in ("/api/v1/instance", "/api/v2/instance"):
            return Reply(body={**INSTANCE, "domain": "fake.social"})
        return None

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if path.startswith("/api/v1/statuses/"):
            sid = path.rsplit("/", 1)[-1]
            found = [p for p in self.posts if str(self.sid(p)) == sid]
            return Reply(body=self.status(found[0])) if found else Reply(404, {"error": "Record not found"})
        statuses = [p for p in self.posts]
        min_id = int(query["min_id"]) if query.get("min_id") else None
        limit = min(int(query.get("limit", 20)), self.page_cap)
        if min_id is not None:
            chunk = [p for p in statuses if self.sid(p) > min_id][:limit]  # immediately newer than min_id
        else:
            chunk = statuses[-limit:]
        rendered = [self.status(p) for p in reversed(chunk)]
        if path.startswith("/api/v1/timelines/tag/"):
            return Reply(body=rendered)
        if path == "/api/v2/search":
            return Reply(body={"accounts": [], "statuses": rendered, "hashtags": []})
        return Reply(404, {"error": "Record not found"})

    @staticmethod
    def sid(p: Post) -> int:
        return int(p.at.timestamp() * 1000) << 16

    def status(self, p: Post) -> dict[str, Any]:
        st: dict[str, Any] = {
            "id": str(self.sid(p)),
            "uri": f"https://fake.social/users/{p.author}/statuses/{self.sid(p)}",
            "url": f"https://fake.social/@{p.author}/{self.sid(p)}",
            "created_at": p.at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "edited_at": None,
            "content": f"<p>{p.text}</p>",
            "spoiler_text": "",
            "language": "en",
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "reblog": None,
            "visibility": "public",
            "account": {
                "id": str(1000 + len(p.author)),
                "username": p.author,
                "acct": f"{p.author}@elsewhere.example",
                "display_name": p.author.title(),
                "followers_count": 42,
                "url": f"https://elsewhere.example/@{p.author}",
            },
            **p.extra,
        }
        if p.malformed:
            del st["account"]
        return st

    def ids(self) -> list[str]:
        return [str(self.sid(p)) for p in self.posts if not p.malformed]
