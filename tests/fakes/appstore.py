"""Fake Apple customer-reviews feed: ``/{country}/rss/customerreviews/page={n}/id={app}/sortby=mostrecent/json``.

Reviews are listed by ``updated``, newest first, with the app's own entry first on page 1 (as
Apple does) and ``link rel=last`` naming the last page. ``extra`` may set ``rating`` (default 1),
``title``, ``version`` and ``country`` (default ``us``); ``edit`` rewrites a review (same id).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests.fakes.platform import T0, FakePlatform, Post, Reply

APP_ID = "1460000001"
_PATH = re.compile(r"^/(\w\w)/rss/customerreviews/page=(\d+)/id=(\d+)/sortby=mostrecent/json$")


def apple_time(at: Any) -> str:
    return at.astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")[:-2] + ":" + at.astimezone().strftime("%z")[-2:]


class FakeAppStore(FakePlatform):
    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        m = _PATH.match(path)
        if not m or m.group(3) != APP_ID:
            return Reply(404, "<html>not found</html>", {"Content-Type": "text/html"})
        country, page = m.group(1), int(m.group(2))
        mine = [p for p in self.posts if p.extra.get("country", "us") == country]
        mine.sort(key=lambda p: self.updated(p), reverse=True)
        per = self.page_cap
        last = max(1, (len(mine) + per - 1) // per)
        chunk = [self.entry(p, country) for p in mine[(page - 1) * per : page * per]]
        if page == 1 and mine:
            chunk.insert(0, self.app_entry(country))
        href = f"https://itunes.apple.com/{country}/rss/customerreviews/page={{}}/id={APP_ID}/sortby=mostrecent/json"
        links = [
            {
                "attributes": {
                    "rel": "alternate",
                    "type": "text/html",
                    "href": f"https://apps.apple.com/{country}/app/id{APP_ID}",
                }
            },
            {"attributes": {"rel": "self", "href": href.format(page)}},
            {"attributes": {"rel": "first", "href": href.format(1)}},
            {"attributes": {"rel": "last", "href": href.format(last)}},
        ]
        feed: dict[str, Any] = {
            "author": {"name": {"label": "iTunes Store"}, "uri": {"label": "http://www.apple.com/itunes/"}},
            "updated": {"label": apple_time(T0 + timedelta(hours=2))},
            "rights": {"label": "Copyright 2008 Apple Inc."},
            "title": {"label": "iTunes Store: Customer Reviews"},
            "icon": {"label": "http://itunes.apple.com/favicon.ico"},
            "link": links,
            "id": {"label": href.format(page)},
        }
        if chunk:
            feed["entry"] = chunk[0] if len(chunk) == 1 else chunk
        return Reply(body={"feed": feed})

    def updated(self, p: Post) -> Any:
        if p.when is not None and "edited" not in p.extra:
            return p.when  # a broken date, as a platform may send
        return T0 + timedelta(minutes=p.extra.get("edited", p.n))

    def rid(self, p: Post) -> str:
        return str(11200000000 + p.n)

    def entry(self, p: Post, country: str) -> dict[str, Any]:
        e: dict[str, Any] = {
            "author": {
                "uri": {"label": f"https://itunes.apple.com/{country}/reviews/id{880000000 + p.n}"},
                "name": {"label": p.author},
                "label": "",
            },
            "updated": {"label": apple_time(self.updated(p))},
            "im:rating": {"label": str(p.extra.get("rating", 1))},
            "im:version": {"label": p.extra.get("version", "4.2.1")},
            "id": {"label": self.rid(p)},
            "title": {"label": p.extra.get("title", "Review")},
            "content": {"label": p.extra.get("message", p.text), "attributes": {"type": "text"}},
            "link": {
                "attributes": {"rel": "related", "href": f"https://itunes.apple.com/{country}/review?id={APP_ID}"}
            },
            "im:voteSum": {"label": "0"},
            "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
            "im:voteCount": {"label": "0"},
        }
        if p.malformed:
            del e["updated"]
        return e

    def app_entry(self, country: str) -> dict[str, Any]:
        return {
            "im:name": {"label": "Acme Home"},
            "im:artist": {"label": "Acme Inc.", "attributes": {"href": "https://apps.apple.com/developer/acme"}},
            "id": {
                "label": f"https://apps.apple.com/{country}/app/acme-home/id{APP_ID}",
                "attributes": {"im:id": APP_ID},
            },
            "title": {"label": "Acme Home - Acme Inc."},
        }

    def edit(self, post: Post, text: str) -> None:
        post.extra.update(message=text, edited=len(self.posts) + 1)

    def ids(self) -> list[str]:
        return [self.rid(p) for p in self.posts if not p.malformed]
