"""Sources of mentions, registered by the ``type`` name used in config.yaml."""

from __future__ import annotations

from collectors.base import Collector, Mention, Page, parse_time
from collectors.bluesky import BlueskyCollector
from collectors.hackernews import HackerNewsCollector
from collectors.mastodon import MastodonCollector
from collectors.reddit import RedditCollector
from collectors.replay import ReplayCollector
from collectors.rss import RssCollector
from collectors.twitter import XCollector

REGISTRY: dict[str, type] = {
    "replay": ReplayCollector,
    "x": XCollector,
    "reddit": RedditCollector,
    "mastodon": MastodonCollector,
    "bluesky": BlueskyCollector,
    "hackernews": HackerNewsCollector,
    "rss": RssCollector,
}

__all__ = ["REGISTRY", "Collector", "Mention", "Page", "parse_time"]
