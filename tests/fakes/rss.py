"""A real RSS 2.0 feed on 127.0.0.1 with ETag/Last-Modified and 304 Not Modified."""

from __future__ import annotations

import hashlib
from email.utils import format_datetime
from xml.sax.saxutils import escape

from tests.fakes.platform import FakePlatform, Post, Reply


class FakeFeed(FakePlatform):
    path = "/reviews/feed.xml"

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        assert path == self.path, path
        xml = self.render()
        etag = '"' + hashlib.sha1(xml.encode()).hexdigest()[:16] + '"'
        modified = format_datetime(self.posts[-1].at if self.posts else self.now(), usegmt=True)
        if headers.get("If-None-Match") == etag:
            return Reply(304, b"", {"ETag": etag, "Last-Modified": modified})
        return Reply(200, xml, {"Content-Type": "application/rss+xml", "ETag": etag, "Last-Modified": modified})

    def now(self):  # noqa: ANN201
        from tests.fakes.platform import T0

        return T0

    def item(self, p: Post) -> str:
        date = "" if p.malformed else f"<pubDate>{format_datetime(p.at, usegmt=True)}</pubDate>"
        return (
            f"<item><title>Review {p.n}</title><link>https://reviews.example/acme/{p.n}</link>"
            f"<guid isPermaLink='false'>review-{p.n}</guid><author>{escape(p.author)}</author>"
            f"<description>{escape(p.text)}</description>{date}</item>"
        )

    def render(self) -> str:
        items = "".join(self.item(p) for p in reversed(self.posts))
        return (
            "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>Acme reviews</title>"
            f"<link>https://reviews.example/acme</link><description>reviews</description>{items}</channel></rss>"
        )

    def ids(self) -> list[str]:
        return [f"review-{p.n}" for p in self.posts if not p.malformed]
