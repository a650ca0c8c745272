"""Loopback fakes of the posting endpoints: Mastodon ``POST /api/v1/statuses`` and Bluesky
``com.atproto.repo.createRecord`` (with ``listRecords`` for the in-doubt look-up).

Every post that lands is kept in ``fake.created``. Mastodon honours ``Idempotency-Key`` as the
real server does: a repeated key returns the first status and posts nothing. With ``hold`` set,
the answer to a post that has landed waits until ``release`` is set (to kill a client between
posting and recording).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from typing import Any

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.platform import Reply


class Holding:
    hold = False

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def wait(self) -> None:
        if self.hold:
            self.release.wait(60)


class PostingMastodon(Holding, FakeMastodon):
    def __init__(self) -> None:
        super().__init__()
        self.created: list[dict[str, Any]] = []
        self.keys: dict[str, dict[str, Any]] = {}

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: str) -> Reply:
        if method == "POST" and path == "/api/v1/statuses":
            if self.failures:
                return self.failures.pop(0)
            key = headers.get("Idempotency-Key") or headers.get("idempotency-key")
            if key and key in self.keys:
                return Reply(body=self.keys[key])
            args = (
                json.loads(body) if body.startswith("{") else {k: v[-1] for k, v in urllib.parse.parse_qs(body).items()}
            )
            sid = str(110000000000000000 + len(self.created) + 1)
            st = {
                "id": sid,
                "url": f"https://fake.social/@acme/{sid}",
                "content": f"<p>{args.get('status')}</p>",
                "in_reply_to_id": args.get("in_reply_to_id"),
                "visibility": args.get("visibility") or "public",
                "created_at": "2026-11-10T10:00:00.000Z",
                "account": {"id": "1", "username": "acme", "acct": "acme"},
            }
            self.created.append({**args, "idempotency_key": key})
            if key:
                self.keys[key] = st
            self.wait()
            return Reply(body=st)
        return super().route(method, path, query, headers, body)


class PostingBluesky(Holding, FakeBluesky):
    def __init__(self) -> None:
        super().__init__()
        self.created: list[dict[str, Any]] = []

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if path == "/xrpc/com.atproto.repo.listRecords":
            records = [{"uri": c["uri"], "cid": c["cid"], "value": c["record"]} for c in reversed(self.created)]
            return Reply(body={"records": records})
        return super().data(method, path, query, headers)

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: str) -> Reply:
        if path == "/xrpc/com.atproto.repo.createRecord":
            if self.failures:
                return self.failures.pop(0)
            args = json.loads(body)
            n = len(self.created) + 1
            uri = f"at://{args['repo']}/app.bsky.feed.post/3lreply{n:06d}"
            self.created.append({**args, "uri": uri, "cid": f"bafyreply{n:06d}"})
            self.wait()
            return Reply(body={"uri": uri, "cid": f"bafyreply{n:06d}"})
        return super().route(method, path, query, headers, body)
