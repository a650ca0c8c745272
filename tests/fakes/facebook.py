"""Fake Meta Graph API for a Facebook Page: ``/{page}/feed``, ``/{post}/comments``, batch re-reads.

:class:`FakeGraph` is the part the Instagram fake shares: ``after`` cursor paging, the batch
endpoint (``POST /`` with ``batch=[…]``), Graph's error shapes, and throttling the way Graph does
it (``fail_next(429, headers)`` answers HTTP 400 with error code 80001/80002 and those headers).

Scripting: ``add(text)`` is a visitor's post on the Page; ``extra={"on": n}`` makes it a comment
on post ``n`` (``"parent": m`` a reply to comment ``m``); author ``"Acme"`` is the Page itself.
``edit(post, text)``, ``delete(post)`` and ``hide(post)`` change it afterwards.
"""

from __future__ import annotations

import json
import urllib.parse
from datetime import datetime, timedelta
from typing import Any

from tests.fakes.platform import T0, FakePlatform, Post, Reply

PAGE_ID = "104000000000001"
PAGE_NAME = "Acme"


def graph_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S+0000")


class FakeGraph(FakePlatform):
    throttle_code = 80001
    token = "test-page-token"
    usage: dict[str, str] = {}  # usage headers sent with every answer (x-app-usage, x-business-use-case-usage)

    def fail_next(self, status: int, headers: dict[str, str] | None = None, times: int = 1, body: Any = None) -> None:
        if status == 429:  # Graph throttles with HTTP 400 and an error code, never a 429
            body = {
                "error": {
                    "message": "(#80001) There have been too many calls to this account. Wait a bit and try again.",
                    "type": "OAuthException",
                    "code": self.throttle_code,
                    "fbtrace_id": "AbCdEfGh123",
                }
            }
            status = 400
        elif status >= 500 and body is None:
            body = {"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}}
        super().fail_next(status, headers, times, body)

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: str) -> Reply:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body).items()} if body else {}
        query = {**query, **form}
        if query.get("access_token") != self.token:
            return Reply(400, _error(190, "Invalid OAuth access token.", "OAuthException"))
        if self.failures:
            return self.failures.pop(0)
        if method == "POST" and path == "/":
            reply = Reply(body=[self._one(r) for r in json.loads(query["batch"])])
        else:
            reply = self.data(method, path, query, headers)
        reply.headers.update(self.usage)
        return reply

    def _one(self, request: dict[str, str]) -> dict[str, Any]:
        oid = urllib.parse.urlsplit(request["relative_url"]).path.rsplit("/", 1)[-1]
        obj = self.object(oid)
        if obj is None:
            err = _error(100, f"Unsupported get request. Object with ID '{oid}' does not exist", "GraphMethodException")
            err["error"]["error_subcode"] = 33
            return {"code": 400, "headers": [], "body": json.dumps(err)}
        return {"code": 200, "headers": [], "body": json.dumps(obj)}

    def paged(self, items: list[dict[str, Any]], query: dict[str, str], path: str) -> Reply:
        per = min(int(query.get("limit", 25)), self.page_cap)
        start = int(query.get("after", "0") or 0)
        chunk = items[start : start + per]
        body: dict[str, Any] = {"data": chunk}
        if chunk:
            body["paging"] = {"cursors": {"before": str(start), "after": str(start + len(chunk))}}
            if start + per < len(items):
                body["paging"]["next"] = f"{self.base_url}{path}?after={start + len(chunk)}"
        return Reply(body=body)

    # scripting
    def edit(self, post: Post, text: str) -> None:
        post.extra.update(message=text, edited=len(self.posts) + 1)

    def delete(self, post: Post) -> None:
        post.extra["deleted"] = True

    def hide(self, post: Post) -> None:
        post.extra["hidden"] = True

    def object(self, oid: str) -> dict[str, Any] | None:
        raise NotImplementedError


class FakeFacebook(FakeGraph):
    page_id = PAGE_ID

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[1] == PAGE_ID and parts[2] == "feed":
            since = int(query.get("since", 0))
            posts = [self.render(p) for p in reversed(self.posts) if self.is_post(p) and self.visible(p)]
            posts = [p for p in posts if "created_time" not in p or _ts(p["created_time"]) >= since]
            return self.paged(posts, query, path)
        if len(parts) == 3 and parts[2] == "comments":
            root = next((p for p in self.posts if self.pid(p) == parts[1] and self.is_post(p)), None)
            if root is None or not self.visible(root):
                return Reply(400, _error(100, "Object does not exist", "GraphMethodException"))
            comments = [
                self.render(c)
                for c in reversed(self.posts)
                if not self.is_post(c) and self.root(c) is root and self.visible(c)
            ]
            if query.get("order") == "chronological":
                comments.reverse()
            return self.paged(comments, query, path)
        return Reply(400, _error(100, f"Unknown path {path}", "GraphMethodException"))

    @staticmethod
    def is_post(p: Post) -> bool:
        return "on" not in p.extra

    @staticmethod
    def visible(p: Post) -> bool:
        return not p.extra.get("deleted")

    def root(self, p: Post) -> Post:
        while not self.is_post(p):
            p = self.posts[p.extra["on"] - 1]
        return p

    def pid(self, p: Post) -> str:
        if self.is_post(p):
            return f"{PAGE_ID}_{900000 + p.n}"
        return f"{900000 + self.root(p).n}_{700000 + p.n}"

    def object(self, oid: str) -> dict[str, Any] | None:
        p = next((p for p in self.posts if self.pid(p) == oid), None)
        return self.render(p) if p is not None and self.visible(p) else None

    def render(self, p: Post) -> dict[str, Any]:
        own = p.author == PAGE_NAME
        who = {"id": PAGE_ID if own else str(3100000000 + sum(map(ord, p.author))), "name": p.author}
        obj: dict[str, Any] = {
            "id": self.pid(p),
            "message": p.extra.get("message", p.text),
            "created_time": graph_time(p.at),
            "from": who,
            "permalink_url": f"https://www.facebook.com/{self.pid(p)}",
            "is_hidden": bool(p.extra.get("hidden")),
        }
        if self.is_post(p):
            activity = [p.at] + [c.at for c in self.posts if not self.is_post(c) and self.root(c) is p]
            if p.extra.get("edited"):
                activity.append(T0 + timedelta(minutes=p.extra["edited"]))
            obj["updated_time"] = graph_time(max(activity))
        elif "parent" in p.extra:
            obj["parent"] = {"id": self.pid(self.posts[p.extra["parent"] - 1])}
        if p.malformed:
            del obj["created_time"]
        return obj

    def reply_as_brand(self, post: Post, text: str) -> Post:
        on = self.root(post).n
        extra: dict[str, Any] = {"on": on} if self.is_post(post) else {"on": on, "parent": post.n}
        return self.add(text, author=PAGE_NAME, extra=extra)

    def ids(self) -> list[str]:
        return [self.pid(p) for p in self.posts if not p.malformed and (p.author != PAGE_NAME or not self.is_post(p))]


def _error(code: int, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGh123"}}


def _ts(value: str) -> int:
    return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").timestamp())
