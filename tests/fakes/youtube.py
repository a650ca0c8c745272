"""Fake YouTube Data API v3: ``commentThreads`` (``allThreadsRelatedToChannelId`` newest first, or ``id=``).

Scripting: ``add(text)`` is a top-level comment under the channel's video; ``extra={"parent": n}``
a reply to comment ``n``; author ``"Acme"`` is the channel itself. ``quota_exhausted()`` makes
the next call answer 403 ``quotaExceeded``; ``edit`` and ``delete`` change a comment afterwards.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.fakes.platform import T0, FakePlatform, Post, Reply

CHANNEL_ID = "UCacme0000000000000000aa"
CHANNEL_NAME = "Acme"
VIDEO_ID = "acmeKettle1"
API_KEY = "test-youtube-key"


def yt_time(at: Any) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeYouTube(FakePlatform):
    def fail_next(self, status: int, headers: dict[str, str] | None = None, times: int = 1, body: Any = None) -> None:
        if body is None:
            reason = {429: "rateLimitExceeded", 403: "forbidden"}.get(status, "backendError")
            body = _error(status, reason, f"HTTP {status}")
        super().fail_next(status, headers, times, body)

    def quota_exhausted(self) -> None:
        body = _error(403, "quotaExceeded", "The request cannot be completed because you have exceeded your quota.")
        body["error"]["errors"][0]["domain"] = "youtube.quota"
        super().fail_next(403, {}, 1, body)

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if query.get("key") != API_KEY:
            return Reply(400, _error(400, "keyInvalid", "API key not valid. Please pass a valid API key."))
        if path != "/youtube/v3/commentThreads":
            return Reply(404, _error(404, "notFound", path))
        tops = [p for p in reversed(self.posts) if "parent" not in p.extra and not p.extra.get("deleted")]
        if "id" in query:
            wanted = set(query["id"].split(","))
            items = [self.thread(p) for p in tops if self.cid(p) in wanted]
            return Reply(body={"kind": "youtube#commentThreadListResponse", "items": items})
        assert query.get("allThreadsRelatedToChannelId") == CHANNEL_ID
        per = min(int(query.get("maxResults", 20)), self.page_cap)
        start = int(query.get("pageToken") or 0)
        chunk = tops[start : start + per]
        body: dict[str, Any] = {
            "kind": "youtube#commentThreadListResponse",
            "etag": "etag-1",
            "pageInfo": {"totalResults": len(tops), "resultsPerPage": per},
            "items": [self.thread(p) for p in chunk],
        }
        if start + per < len(tops):
            body["nextPageToken"] = str(start + per)
        return Reply(body=body)

    def cid(self, p: Post) -> str:
        return f"UgzAcme{p.n:06d}"

    def comment(self, p: Post) -> dict[str, Any]:
        own = p.author == CHANNEL_NAME
        author = CHANNEL_ID if own else f"UCfan{p.n:019d}"
        snippet: dict[str, Any] = {
            "channelId": CHANNEL_ID,
            "videoId": VIDEO_ID,
            "textDisplay": p.extra.get("message", p.text),
            "textOriginal": p.extra.get("message", p.text),
            "authorDisplayName": f"@{p.author}",
            "authorProfileImageUrl": "https://yt3.ggpht.example/a.jpg",
            "authorChannelUrl": f"http://www.youtube.com/@{p.author}",
            "authorChannelId": {"value": author},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": yt_time(p.at),
            "updatedAt": yt_time(T0 + timedelta(minutes=p.extra.get("edited", p.n))),
        }
        if "parent" in p.extra:
            snippet["parentId"] = self.cid(self.posts[p.extra["parent"] - 1])
        if p.malformed:
            del snippet["publishedAt"]
        return {"kind": "youtube#comment", "etag": f"e{p.n}", "id": self.cid(p), "snippet": snippet}

    def thread(self, p: Post) -> dict[str, Any]:
        replies = [r for r in self.posts if r.extra.get("parent") == p.n and not r.extra.get("deleted")]
        t: dict[str, Any] = {
            "kind": "youtube#commentThread",
            "etag": f"t{p.n}",
            "id": self.cid(p),
            "snippet": {
                "channelId": CHANNEL_ID,
                "videoId": VIDEO_ID,
                "topLevelComment": self.comment(p),
                "canReply": True,
                "totalReplyCount": len(replies),
                "isPublic": True,
            },
        }
        if replies:
            t["replies"] = {"comments": [self.comment(r) for r in replies]}
        return t

    def edit(self, post: Post, text: str) -> None:
        post.extra.update(message=text, edited=len(self.posts) + 1)

    def delete(self, post: Post) -> None:
        post.extra["deleted"] = True

    def reply_as_brand(self, post: Post, text: str) -> Post:
        return self.add(text, author=CHANNEL_NAME, extra={"parent": post.n})

    def ids(self) -> list[str]:
        return [self.cid(p) for p in self.posts if not p.malformed]


def _error(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "youtube.commentThread", "reason": reason}],
        }
    }
