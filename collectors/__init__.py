"""Sources of mentions, registered by the ``type`` name used in config.yaml.

Each source is one module with one :class:`~gripewatch.collectors.base.Collector` class (its
``Options``, its cursor and its ``collect``). ``REGISTRY`` maps a type name to the class's import
path and imports a module only when its type is looked up, so a command loads the clients
(tweepy, praw, Mastodon.py, atproto, feedparser, httpx) of the sources it uses and no others.
"""

from __future__ import annotations

import importlib
from typing import Any

BUILT_IN = {
    "replay": "gripewatch.collectors.replay:ReplayCollector",
    "x": "gripewatch.collectors.twitter:XCollector",
    "reddit": "gripewatch.collectors.reddit:RedditCollector",
    "mastodon": "gripewatch.collectors.mastodon:MastodonCollector",
    "bluesky": "gripewatch.collectors.bluesky:BlueskyCollector",
    "hackernews": "gripewatch.collectors.hackernews:HackerNewsCollector",
    "rss": "gripewatch.collectors.rss:RssCollector",
    "facebook": "gripewatch.collectors.facebook:FacebookCollector",
    "instagram": "gripewatch.collectors.instagram:InstagramCollector",
    "appstore": "gripewatch.collectors.appstore:AppStoreCollector",
    "googleplay": "gripewatch.collectors.googleplay:GooglePlayCollector",
    "youtube": "gripewatch.collectors.youtube:YouTubeCollector",
}


class Registry(dict[str, Any]):
    """Type name → collector class; values may be ``"module:Class"`` paths, imported on lookup."""

    def __getitem__(self, name: str) -> Any:
        value = super().__getitem__(name)
        if isinstance(value, str):
            module, _, attr = value.partition(":")
            value = getattr(importlib.import_module(module), attr)
            super().__setitem__(name, value)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def values(self) -> Any:
        return [self[k] for k in self]

    def items(self) -> Any:
        return [(k, self[k]) for k in self]


REGISTRY = Registry(BUILT_IN)

__all__ = ["BUILT_IN", "REGISTRY", "Registry"]
