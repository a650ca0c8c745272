"""The base of the loopback platform fakes: posts, paging and failure injection.

Each fake (tests/fakes/x.py, reddit.py, mastodon.py, bluesky.py,
hackernews.py, rss.py, facebook.py, instagram.py, appstore.py, googleplay.py,
youtube.py) is a tiny ``http.server`` on 127.0.0.1 that serves the
platform's documented response shape for the endpoints gripewatch calls, from
a list of :class:`Post` (oldest first). ``fail_next(status, headers, times)``
makes the next data requests fail; every request is recorded.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)  # inside the first run's look-back


@dataclass
class Post:
    n: int  # 1, 2, 3 … in posting order
    text: str
    author: str = "customer"
    malformed: bool = False  # served without a field the platform always sends
    extra: dict[str, Any] = field(default_factory=dict)
    when: datetime | None = None  # a broken platform's date (e.g. the year 2999); default: n minutes after T0

    @property
    def at(self) -> datetime:
        return self.when or T0 + timedelta(minutes=self.n)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes → as is
    headers: dict[str, str] = field(default_factory=dict)


class FakePlatform:
    page_cap = 2  # at most this many items per page, whatever the client asks: paging is always exercised

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.failures: list[Reply] = []
        self.last_lists: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                url = urllib.parse.urlsplit(self.path)
                query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
                with fake._lock:
                    fake.requests.append((method, url.path, query))
                    fake.last_lists = urllib.parse.parse_qs(url.query)  # repeated parameters (uris=…&uris=…)
                    reply = fake.route(method, url.path, query, dict(self.headers), body)
                data = reply.body
                if isinstance(data, dict | list):
                    data = json.dumps(data).encode()
                    reply.headers.setdefault("Content-Type", "application/json; charset=utf-8")
                elif isinstance(data, str):
                    data = data.encode()
                data = data or b""
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakePlatform:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -------------------------------------------------------------- scripting

    def add(self, text: str, **kw: Any) -> Post:
        post = Post(len(self.posts) + 1, text, **kw)
        self.posts.append(post)
        return post

    def fail_next(self, status: int, headers: dict[str, str] | None = None, times: int = 1, body: Any = None) -> None:
        for _ in range(times):
            self.failures.append(
                Reply(status, body if body is not None else {"error": f"HTTP {status}"}, headers or {})
            )

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: str) -> Reply:
        auth = self.auth(method, path, query, body)
        if auth is not None:
            return auth
        if self.failures:
            return self.failures.pop(0)
        return self.data(method, path, query, headers)

    # -------------------------------------------------------------- per platform

    def auth(self, method: str, path: str, query: dict[str, str], body: str) -> Reply | None:
        """Answer login/token/instance requests (never failed by ``fail_next``)."""
        return None

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        raise NotImplementedError

    def ids(self) -> list[str]:
        """The external ids gripewatch should store for the posts, in posting order."""
        raise NotImplementedError
