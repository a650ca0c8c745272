"""The Edge for clients built on ``requests`` (tweepy, praw): a transport adapter.

Apart from :mod:`gripewatch.collectors.base` so that reading the configuration does not load requests.
"""

from __future__ import annotations

from typing import Any

import requests
import requests.adapters

from gripewatch.collectors.base import Edge


class EdgeAdapter(requests.adapters.HTTPAdapter):
    """For clients built on ``requests`` (tweepy, praw): charge the edge's budget per HTTP request
    and optionally send requests for ``origin`` to ``base_url`` instead (the base URL override)."""

    def __init__(self, edge: Edge, origin: str | None = None, base_url: str | None = None) -> None:
        super().__init__()
        self.edge, self.origin, self.base_url = edge, origin, base_url.rstrip("/") if base_url else None

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.edge.charge()
        if self.origin and self.base_url and request.url and request.url.startswith(self.origin):
            request.url = self.base_url + request.url[len(self.origin) :]
        return super().send(request, *args, **kwargs)
