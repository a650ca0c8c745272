"""A fake Slack Web API on 127.0.0.1 that records every request.

Point the real ``slack_sdk.WebClient(base_url=fake.base_url)`` at it. It keeps
posted messages per channel (with their metadata, so history look-ups work),
and can be told to fail the next calls: ``fake.fail_next(500)``,
``fake.fail_next(429, retry_after=1)``, ``fake.fail_next(200, error="channel_not_found")``,
or to be down (every call 503) while ``fake.down`` is true. ``fake.times`` holds when each request
arrived (``time.monotonic()``), for rate checks. Channels for
``conversations.list``/``conversations.info`` are registered with
``fake.add_channel("#care", private=True)``; ``chat.postEphemeral`` calls are
kept in ``fake.ephemeral``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeSlack:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.times: list[float] = []  # time.monotonic() of each request, beside ``requests``
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.failures: list[tuple[int, str | None, float | None]] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []  # views.open calls: trigger_id and view
        self.down = False
        self.socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode)
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> {"content": bytes, "channel": ..., ...}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.startswith("/upload/"):
                    fake.uploads.setdefault(self.path.rsplit("/", 1)[-1], {})["content"] = raw
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                    return
                body = raw.decode()
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    args = json.loads(body or "{}")
                else:
                    args = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
                    for k in ("blocks", "metadata", "attachments"):
                        if isinstance(args.get(k), str):
                            args[k] = json.loads(args[k])
                method = self.path.rsplit("/", 1)[-1]
                status, payload, headers = fake.handle(method, args, self.headers.get("Authorization", ""))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(
        self, status: int, error: str | None = None, retry_after: float | None = None, times: int = 1
    ) -> None:
        self.failures.extend([(status, error, retry_after)] * times)

    def add_channel(self, name: str, private: bool = True) -> str:
        """Register a channel (looked up by id or by ``#name``); return its id."""
        cid = f"C{len(self.channels) + 1:08d}"
        info = {"id": cid, "name": name.lstrip("#"), "is_channel": True, "is_private": private}
        self.channels[cid] = self.channels[name] = info
        return cid

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [a for m, a in self.requests if m == method]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Every message posted (top-level and thread replies), in order."""
        if channel is not None:
            return list(self.messages.get(channel, []))
        return sorted((m for ms in self.messages.values() for m in ms), key=lambda m: float(m["ts"]))

    def handle(self, method: str, args: dict[str, Any], auth: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.requests.append((method, args))
            self.times.append(time.monotonic())
            if self.down:
                return 503, {"ok": False, "error": "service_unavailable"}, {}
            if self.failures:
                status, error, retry_after = self.failures.pop(0)
                headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
                return (
                    status,
                    {"ok": False, "error": error or ("ratelimited" if status == 429 else "fatal_error")},
                    headers,
                )
            if method == "apps.connections.open":  # app-level token only
                if not auth.startswith("Bearer xapp-") or self.socket_url is None:
                    return 200, {"ok": False, "error": "invalid_auth"}, {}
                return 200, {"ok": True, "url": self.socket_url}, {}
            if not auth.startswith("Bearer xoxb-"):
                return 200, {"ok": False, "error": "not_authed"}, {}
            if method == "auth.test":
                return 200, {"ok": True, "user_id": "UBOT", "team_id": "T1", "bot_id": "B1"}, {}
            if method == "chat.postMessage":
                ts = f"{1700000000 + next(self._ts)}.000100"
                msg = {
                    "ts": ts,
                    "channel": args.get("channel"),
                    "text": args.get("text"),
                    "blocks": args.get("blocks"),
                    "thread_ts": args.get("thread_ts"),
                    "metadata": args.get("metadata"),
                }
                self.messages.setdefault(args["channel"], []).append(msg)
                return 200, {"ok": True, "channel": args["channel"], "ts": ts, "message": msg}, {}
            if method == "chat.update":
                for msg in self.messages.get(args.get("channel", ""), []):
                    if msg["ts"] == args.get("ts"):
                        msg.update(text=args.get("text"), blocks=args.get("blocks"))
                        return 200, {"ok": True, "channel": args["channel"], "ts": msg["ts"]}, {}
                return 200, {"ok": False, "error": "message_not_found"}, {}
            if method in ("conversations.history", "conversations.replies"):
                msgs = self.messages.get(args.get("channel", ""), [])
                if method == "conversations.replies":
                    msgs = [m for m in msgs if m["ts"] == args.get("ts") or m.get("thread_ts") == args.get("ts")]
                else:
                    msgs = [m for m in msgs if not m.get("thread_ts")]
                return 200, {"ok": True, "messages": list(reversed(msgs)), "has_more": False}, {}
            if method == "files.getUploadURLExternal":
                file_id = f"F{next(self._ts)}"
                self.uploads[file_id] = {"filename": args.get("filename"), "length": args.get("length")}
                port = self.server.server_address[1]
                return (
                    200,
                    {"ok": True, "file_id": file_id, "upload_url": f"http://127.0.0.1:{port}/upload/{file_id}"},
                    {},
                )
            if method == "files.completeUploadExternal":
                files = args.get("files")
                files = json.loads(files) if isinstance(files, str) else files or []
                for f in files:
                    self.uploads.setdefault(f["id"], {}).update(
                        title=f.get("title"), channel=args.get("channel_id"), comment=args.get("initial_comment")
                    )
                return 200, {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}, {}
            if method == "views.open":
                view = args.get("view")
                view = json.loads(view) if isinstance(view, str) else view
                self.views.append({"trigger_id": args.get("trigger_id"), "view": view})
                return 200, {"ok": True, "view": {"id": f"V{next(self._ts)}", **(view or {})}}, {}
            if method == "chat.postEphemeral":
                self.ephemeral.append(dict(args))
                return 200, {"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000200"}, {}
            if method == "conversations.list":
                unique = {c["id"]: c for c in self.channels.values()}
                return (
                    200,
                    {"ok": True, "channels": list(unique.values()), "response_metadata": {"next_cursor": ""}},
                    {},
                )
            if method == "conversations.info":
                ch = self.channels.get(args.get("channel", ""))
                if ch is None:
                    return 200, {"ok": False, "error": "channel_not_found"}, {}
                return 200, {"ok": True, "channel": ch}, {}
            return 200, {"ok": True}, {}
