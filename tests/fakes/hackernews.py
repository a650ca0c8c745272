"""Fake Algolia Hacker News search API: ``/api/v1/search_by_date`` (newest first, numericFilters, page)."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.platform import FakePlatform, Post, Reply


class FakeHackerNews(FakePlatform):
    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        assert path == "/api/v1/search_by_date", path
        posts = list(reversed(self.posts))
        m = re.fullmatch(r"created_at_i>=(\d+)", query.get("numericFilters", ""))
        if m:
            posts = [p for p in posts if int(p.at.timestamp()) >= int(m.group(1))]
        per = min(int(query.get("hitsPerPage", 20)), self.page_cap)
        page = int(query.get("page", 0))
        pages = (len(posts) + per - 1) // per
        chunk = posts[page * per : (page + 1) * per]
        return Reply(body={"hits": [self.hit(p) for p in chunk], "page": page, "nbPages": pages, "hitsPerPage": per})

    def hit(self, p: Post) -> dict[str, Any]:
        hit = {
            "objectID": str(40000000 + p.n),
            "created_at": p.at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "created_at_i": int(p.at.timestamp()),
            "author": p.author,
            "comment_text": f"<p>{p.text}</p>",
            "story_id": 39999999,
            "parent_id": 39999999,
            "_tags": ["comment", f"author_{p.author}", "story_39999999"],
        }
        if p.malformed:
            del hit["objectID"]
        return hit

    def ids(self) -> list[str]:
        return [str(40000000 + p.n) for p in self.posts if not p.malformed]
