"""Customer text is hostile until escaped: what reaches Slack never pings, links or restyles.

Every payload here goes through the real block builders and the real slack_sdk WebClient to the
fake Slack on 127.0.0.1; the assertions are on what Slack receives.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from gripewatch.alerts import mrkdwn
from gripewatch.alerts.outbox import dispatch
from gripewatch.alerts.slack import SlackNotifier
from gripewatch.db import Database
from gripewatch.runtime.jobs import collect_source
from tests.conftest import make_settings
from tests.fakes.slack import FakeSlack
from tests.test_digest_build import demo_digest  # noqa: F401  (the demo week's digest, a fixture)

HOSTILE = (
    "@AcmeHelp acme cloud lost all my photos, still waiting 3 days for a refund. Worst service ever! "
    "<!channel> <!here> <!everyone> <@U0BOSS1> <#C0GENERAL> <!subteam^S123> "
    "<https://evil.example|your refund> *BOLD* _it_ ~gone~ `code` &amp; >quote"
)
PINGS = ("<!channel", "<!here", "<!everyone", "<@U0BOSS1", "<#C0GENERAL", "<!subteam", "<https://evil")


def strings(node: Any) -> list[str]:
    """Every string in a JSON-like payload."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return [node] if isinstance(node, str) else []


def send_all(tmp_path: Path, db: Database, db_url: str, fake: FakeSlack, records: list[dict[str, Any]]) -> None:
    settings = make_settings(
        tmp_path,
        db_url,
        records,
        slack={"mode": "api", "token": "xoxb-test", "base_url": fake.base_url},
        staff=[{"slack_id": "UAGENT1", "name": "Ann"}],
    )
    collect_source(db, settings, "replay", "test")
    dispatch(db.sessions, SlackNotifier.from_settings("xoxb-test", fake.base_url), settings.outbox)


def test_hostile_post_and_author_reach_slack_escaped(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    records = [
        {"id": "1", "text": HOSTILE, "author": "<!here>", "author_name": "<@U0BOSS1> *boss*",
         "created_at": "2026-11-20T08:01:00Z", "url": "https://x.com/a/status/1?a=1&b=<2>|x"},
        {"id": "2", "text": "@AcmeHelp still nothing <!channel> " + HOSTILE, "author": "<!here>",
         "created_at": "2026-11-20T08:02:00Z", "url": "javascript:alert(1)"},
    ]  # fmt: skip
    send_all(tmp_path, db, db_url, fake_slack, records)
    posted = fake_slack.posted()
    assert len(posted) == 2 and posted[1]["thread_ts"] == posted[0]["ts"]
    sent = fake_slack.calls("chat.postMessage") + fake_slack.calls("chat.update")
    assert len(sent) >= 3  # the card, the customer's second post in its thread, the card updated
    every = [s for msg in sent for s in strings(msg["blocks"]) + [msg["text"]]]
    for s in every:
        for ping in PINGS:
            assert ping not in s, (ping, s)
        assert "*BOLD*" not in s and "_it_" not in s and "~gone~" not in s and "`code`" not in s
    card = json.dumps(sent[0]["blocks"])
    assert "&lt;!channel&gt;" in card and "&amp;amp;" in card  # shown as typed, not parsed
    assert "<@UAGENT1>" in card  # our own mention of the owner still works
    # the only link is the first post's http(s) URL, its | < > made harmless; javascript: is text
    links = {x for s in every for x in re.findall(r"<([^<>]*)>", s)}
    assert links == {"@UAGENT1", "https://x.com/a/status/1?a=1&amp;b=%3C2%3E%7Cx|view post"}
    assert any("post (not a web link): javascript:alert(1)" in s for s in every)
    # the suggested reply (a code block the agent copies) names the author escaped
    reply = next(s for s in strings(sent[0]["blocks"]) if "Suggested reply" in s)
    assert "Hi @&lt;!here&gt;," in reply and reply.count("```") == 2
    assert "Topics: billing refunds" in card  # our identifiers read as words


def test_mrkdwn_control_characters_cannot_restyle_the_card() -> None:
    out = mrkdwn.escape("*bold* _italic_ ~strike~ `code` ```block``` ＊x＊ ＿y＿ ｀z｀\n> quote\n＞ quote")
    assert not set("*_~`＊＿｀") & set(out)
    assert "\n\u00ad&gt; quote" in out and "\n\u00ad＞ quote" in out  # not a block quote
    assert mrkdwn.escape("a\x00b\x1bc\u202ed\r\ne") == "abcd\ne"  # control and bidi-override characters dropped
    assert mrkdwn.code("@john_doe *x* `y`") == "@john_doe *x* ˋyˋ"  # inside code only backticks matter


def test_only_http_urls_become_links() -> None:
    assert mrkdwn.link("https://x.com/a?b=1&c=2", "view post") == "<https://x.com/a?b=1&amp;c=2|view post>"
    assert mrkdwn.link("http://`x`/<a>|b", "v") == "<http://%60x%60/%3Ca%3E%7Cb|v>"  # found by the long property run
    for bad in ("javascript:alert(1)", "slack://open?team=T1", "data:text/html,x", "//evil.example", "https://"):
        out = mrkdwn.link(bad, "view post")
        assert "<" not in out and "|" not in out, out
    assert mrkdwn.user("U0AGENT1") == "<@U0AGENT1>" and mrkdwn.user("<!here>") == "&lt;!here&gt;"


def test_ops_alert_with_a_hostile_error_and_an_ephemeral_refusal(fake_slack: FakeSlack) -> None:
    from gripewatch.alerts.notify import Alert

    n = SlackNotifier.from_settings("xoxb-test", fake_slack.base_url)
    n.send(Alert("ops:1", "ops", "#ops", {"title": "Source x is failing <!here>", "text": "last error: <!channel>"}))
    n.send(Alert("e:1", "ephemeral", "#care", {"user": "U1", "text": "Nothing changed: <!here> *x*"}))
    n.send(
        Alert(
            "spike:1",
            "ops",
            "#esc",
            {"title": "Possible outage", "text": "Cases: #1", "case_links": [["#1", "https://gw.example/cases/1"]]},
        )
    )
    ops, spike = fake_slack.posted()
    for s in strings(ops["blocks"]) + [ops["text"], fake_slack.ephemeral[0]["text"]]:
        assert "<!" not in s and "*x*" not in s
    assert "<https://gw.example/cases/1|#1>" in json.dumps(spike["blocks"])


def test_digest_slack_rendering_escapes_customer_text(demo_digest) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from gripewatch.dashboards.render import render_slack_blocks, slack_fallback_text

    _data, d = demo_digest
    assert d.problems and d.high_reach
    bad = "<!channel> *x* <https://evil.example|y>"
    quote = dataclasses.replace(d.problems[0].quotes[0], text=bad, author="<@U0BOSS1>")
    d = dataclasses.replace(
        d,
        highlights=[*d.highlights, bad],
        problems=[dataclasses.replace(d.problems[0], label=bad, quotes=(quote,))],
        high_reach=[dataclasses.replace(d.high_reach[0], text=bad, author="<!here>")],
        dashboard_url="javascript:alert(1)",
    )
    out = strings(render_slack_blocks(d)) + [slack_fallback_text(d)]
    for s in out:
        assert "<!" not in s and "<@" not in s and "<https://evil" not in s and "*x*" not in s, s
        assert "<javascript" not in s
    assert any("&lt;!channel&gt;" in s for s in out)
