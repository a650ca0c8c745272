"""Slack's Socket Mode end on 127.0.0.1 (a ``websockets`` server): the fake Slack's ``apps.connections.open``
hands out its ``ws://`` URL; it says hello, sends the envelopes a test queues and records the app's acks."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


class FakeSocketMode:
    def __init__(self) -> None:
        self.outgoing: queue.Queue[dict[str, Any]] = queue.Queue()
        self.acks: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self.server = serve(self._session, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link"

    def start(self) -> FakeSocketMode:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def send(self, envelope: dict[str, Any]) -> None:
        self.outgoing.put(envelope)

    def _session(self, ws: ServerConnection) -> None:
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}))
        self.connected.set()
        while True:
            try:
                ws.send(json.dumps(self.outgoing.get(timeout=0.05)))
            except queue.Empty:
                pass
            except ConnectionClosed:
                return
            try:
                self.acks.append(json.loads(ws.recv(timeout=0.05)))
            except TimeoutError:
                pass
            except ConnectionClosed:
                return
