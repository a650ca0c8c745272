"""The digest (HTML for e-mail and files) links only http(s) URLs: a post whose URL is
``javascript:…`` is quoted without a link, and a dashboard URL that is not http(s) is a config error."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

import pytest

from gripewatch.config import DigestConfig, settings_from_dict
from gripewatch.dashboards.digest import DigestInput, Problem, Quote, build_digest
from gripewatch.dashboards.period import parse_period
from gripewatch.dashboards.render import render_html, render_text
from gripewatch.errors import ConfigError

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _digest(dashboard_url: str | None = "https://gw.example") -> object:
    period = parse_period("2026-W47", "UTC")
    empty = DigestInput(period, NOW, (), (), (), (), (), (), ("Acme",))
    d = build_digest(empty, DigestConfig(dashboard_url=dashboard_url))
    quotes = (
        Quote("my order never came", "ma•••", "x", "javascript:alert(document.cookie)", 7),
        Quote("still waiting", "be•••", "x", "https://x.com/b/status/2", 8),
        Quote("hello?", "ca•••", "x", "data:text/html,<script>alert(1)</script>", 9),
    )
    problem = Problem("order never came", "theme", 3, 0, ("Acme",), quotes, (7, 8, 9))
    return dataclasses.replace(d, problems=[problem], high_reach=list(quotes))


def test_only_http_urls_become_links_in_the_digest_html() -> None:
    html = render_html(_digest())  # type: ignore[arg-type]
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert "https://x.com/b/status/2" in hrefs and "https://gw.example/cases/7" in hrefs
    assert all(h.startswith("https://") for h in hrefs), hrefs
    assert "javascript:" not in html.lower().replace("my order", "")  # not even as text in an attribute
    assert "<script>" not in html


def test_the_dashboard_url_must_be_http() -> None:
    for bad in ("javascript:alert(1)", "gw.example", "ftp://gw.example", "https://gw.example/a b"):
        with pytest.raises(ConfigError, match=r"digest\.dashboard_url: .*http"):
            settings_from_dict({"digest": {"dashboard_url": bad}})
    assert settings_from_dict({"digest": {"dashboard_url": "HTTPS://gw.example/x"}}).digest.dashboard_url


def test_the_text_digest_still_reads() -> None:
    assert "order never came" in render_text(_digest())  # type: ignore[arg-type]
