"""A loopback server that answers each path with a fixture file from tests/fixtures/ (a recorded response).

``FakeRecorded({"/v21.0/123/feed": "facebook/feed.json"})`` serves that file's JSON for GETs of
the path, whatever the query; any other path is a 404. It is how a fixture is replayed through
``gripewatch run-once`` with the real collector and its real HTTP client.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.platform import FakePlatform, Reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class FakeRecorded(FakePlatform):
    def __init__(self, routes: dict[str, str]) -> None:
        super().__init__()
        self.routes = {path: json.loads((FIXTURES / name).read_text(encoding="utf-8")) for path, name in routes.items()}

    def data(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if path in self.routes:
            return Reply(body=self.routes[path])
        return Reply(404, {"error": {"code": 404, "message": f"no fixture for {path}"}})

    def ids(self) -> list[str]:
        return []
